/**
 * WriteThrough against the memory ports wrapped in fault injection (property
 * tests, zero-delay retries so no clock is needed), a TestClock test of the
 * retry delays, cache-off and dry-run.
 *
 * Every property draws its fault schedule with fast-check; the number of
 * schedules tried is printed at the end of the file.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Arbitraries from "../src/Arbitraries.js"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as DocketConfig from "../src/DocketConfig.js"
import * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FaultInjection from "../src/FaultInjection.js"
import * as Retry from "../src/Retry.js"
import * as WriteThrough from "../src/WriteThrough.js"

// Each schedule runs on the live clock with 60 ms leases (a writer that meets an intent left behind waits
// for it): 300 schedules per property keep the file within its timeout on a loaded machine.
const runs = Number(process.env.DOCKET_PROPERTY_RUNS ?? 300)
const schedulesTried = { sequential: 0, concurrent: 0 }
afterAll(() => {
  console.log(`WriteThrough fault schedules tried: ${JSON.stringify(schedulesTried)}`)
})

const quiet = Logger.minimumLogLevel(LogLevel.None)

interface World {
  readonly cache: DocumentCache.Service
  readonly store: DocumentStore.MemoryStore
  readonly writeThrough: WriteThrough.Service
  readonly plan: FaultInjection.Plan
}

const world = (
  verdicts: ReadonlyArray<FaultInjection.Verdict>,
  options: {
    readonly settings?: Partial<DocketConfig.Settings>
    readonly before?: FaultInjection.Options["before"]
    readonly retry?: Retry.Policy
    readonly only?: (call: FaultInjection.Call) => boolean
    readonly timing?: WriteThrough.Options
  } = {},
): Effect.Effect<World> =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory()
    const plan = yield* FaultInjection.plan(verdicts, options.only ? { only: options.only } : {})
    const faults: FaultInjection.Options = {
      plan,
      retry: options.retry ?? FaultInjection.immediateRetry(2),
      ...(options.before ? { before: options.before } : {}),
    }
    // Short leases on the live clock: a writer that meets an intent left by a failed commit resolves it quickly.
    const writeThrough = yield* WriteThrough.makeWith(
      options.timing ?? { lease: "150 millis", putBudget: "100 millis" },
    ).pipe(
      Effect.provideService(DocumentCache.DocumentCache, FaultInjection.cache(cache, faults)),
      Effect.provideService(DocumentStore.DocumentStore, FaultInjection.store(store, faults)),
      Effect.provideService(
        DocketConfig.DocketConfig,
        DocketConfig.make({ bucket: "test", writeWaitMillis: 150, ...options.settings }),
      ),
    )
    return { cache, store, writeThrough, plan }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

/** The state of one key on both sides, read without faults. */
const stateOf = (w: World, kind: string, id: string) =>
  Effect.gen(function* () {
    const entry = yield* w.cache.get(kind, id, { includeExpired: true })
    const object = yield* w.store.get(kind, id)
    return { entry, object: Option.map(object, (o) => o.document) }
  }).pipe(Effect.orDie)

/** Invariant 1's "agree or no entry" part. */
const agreeOrNoEntry = (state: Effect.Effect.Success<ReturnType<typeof stateOf>>): boolean =>
  Option.match(state.entry, {
    onNone: () => true,
    onSome: (entry) =>
      entry._tag === "Tombstone"
        ? Option.isNone(state.object)
        : Option.isSome(state.object) &&
          state.object.value.version === entry.summary.version &&
          (entry.document === undefined || Document.sameContent(entry.document, state.object.value)),
  })

const base = fc.sample(Arbitraries.change({ maxTextLength: 20, ids: ["CHG-wt-1"] }), { numRuns: 1, seed: 7 })[0]!
const versionOf = (version: number, alt: boolean): Document.AnyDocument => ({
  ...base,
  version,
  title: alt ? `v${version} (other content)` : `v${version}`,
})
const key = `change/${base.id}`

type Op = { readonly _tag: "Write"; readonly version: number; readonly alt: boolean } | { readonly _tag: "Delete" }
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      _tag: fc.constant("Write" as const),
      version: fc.integer({ min: 1, max: 5 }),
      alt: fc.boolean().map((b) => b && Math.random() < 0.3),
    }),
    weight: 4,
  },
  { arbitrary: fc.constant<Op>({ _tag: "Delete" }), weight: 1 },
)

const runOp = (w: World, o: Op) =>
  Effect.exit(
    o._tag === "Write"
      ? (w.writeThrough.write(versionOf(o.version, o.alt)) as Effect.Effect<
          WriteThrough.WriteResult | WriteThrough.DeleteResult,
          WriteThrough.WriteError
        >)
      : w.writeThrough.delete(base.kind, base.id),
  )

/** A RollbackFailedError must name the key; returns whether the exit was one. */
const rollbackFailed = (exit: Exit.Exit<unknown, unknown>): boolean => {
  if (Exit.isSuccess(exit)) return false
  const error = Option.getOrUndefined(Exit.causeOption(exit).pipe(Option.flatMap((c) => failureOf(c))))
  if ((error as { _tag?: string })?._tag !== "RollbackFailedError") return false
  const e = error as WriteThrough.RollbackFailedError
  expect(e.key).toBe(key)
  expect(e.message).toContain(key)
  return true
}

const failureOf = (cause: Cause.Cause<unknown>) => Cause.failureOption(cause)

describe("WriteThrough", () => {
  it.effect(
    "invariant 1: after each write or delete returns, cache and S3 agree, or the cache has no entry, or the error is a rollback failure naming the key (faults on both ports; exact restore on rollback)",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(op, { minLength: 1, maxLength: 8 }),
            FaultInjection.verdicts({ maxLength: 30 }),
            async (ops, verdicts) => {
              schedulesTried.sequential++
              await Effect.runPromise(
                Effect.gen(function* () {
                  const w = yield* world(verdicts)
                  let tainted = false
                  for (const o of ops) {
                    const before = yield* stateOf(w, base.kind, base.id)
                    const exit = yield* runOp(w, o)
                    const after = yield* stateOf(w, base.kind, base.id)
                    if (rollbackFailed(exit)) tainted = true
                    const ok = agreeOrNoEntry(after)
                    if (!ok) expect(tainted, `disagreement after ${JSON.stringify(o)}: ${String(exit)}`).toBe(true)
                    else tainted = false
                    if (Exit.isSuccess(exit)) {
                      const result = exit.value
                      switch (result._tag) {
                        case "Written":
                        case "Unchanged": {
                          const written = o._tag === "Write" ? versionOf(o.version, o.alt) : undefined
                          expect(Option.getOrUndefined(after.object)).toEqual(written)
                          const entry = Option.getOrUndefined(after.entry)
                          expect(entry?._tag === "Cached" ? entry.document : undefined).toEqual(written)
                          break
                        }
                        case "RolledBack":
                          // S3 did not take the write; our intent was cleared and the committed state never touched.
                          expect(result.rollback).toBe("Restored")
                          expect(after.object).toEqual(before.object)
                          expect(after.entry).toEqual(before.entry)
                          break
                        case "Deleted":
                          // The commit leaves a tombstone (a late refill or event cannot resurrect the document).
                          expect(Option.map(after.entry, (e) => e._tag)).toEqual(Option.some("Tombstone"))
                          expect(after.object).toEqual(Option.none())
                          break
                      }
                    } else if (!rollbackFailed(exit)) {
                      // Any other failure changed nothing in S3; the cache is as before, or now holds S3's
                      // state (an earlier writer's intent was resolved on the way).
                      expect(after.object).toEqual(before.object)
                      if (!agreeOrNoEntry(after)) expect(after.entry).toEqual(before.entry)
                    }
                  }
                }).pipe(Effect.provide(quiet)),
              )
            },
          ),
          { numRuns: runs },
        ),
      ),
    240_000,
  )

  it.effect(
    "invariant 1 with concurrent writers: once every writer of a key has returned, cache and S3 agree, or the cache has no entry, or one of them reported a rollback failure naming the key",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
            FaultInjection.verdicts({ maxLength: 40 }),
            async (groups, verdicts) => {
              schedulesTried.concurrent++
              await Effect.runPromise(
                Effect.gen(function* () {
                  const w = yield* world(verdicts)
                  let tainted = false
                  for (const group of groups) {
                    const exits = yield* Effect.forEach(group, (o) => runOp(w, o), { concurrency: "unbounded" })
                    if (exits.some(rollbackFailed)) tainted = true
                    const after = yield* stateOf(w, base.kind, base.id)
                    if (!agreeOrNoEntry(after))
                      expect(tainted, `disagreement after ${JSON.stringify(group)}`).toBe(true)
                    else tainted = false
                  }
                }).pipe(Effect.provide(quiet)),
              )
            },
          ),
          { numRuns: runs },
        ),
      ),
    240_000,
  )

  it.live(
    "a same-content write over a delete whose commit failed is not Unchanged: the delete's intent may be in S3 (invariant-1 seed -1900550754)",
    () =>
      Effect.gen(function* () {
        // Write v1 (intent, put, commit), delete (intent, S3 delete, commit refused for good), write v1 again.
        const w = yield* world(["Ok", "Ok", "Ok", "Ok", "Ok", "Denied"])
        expect((yield* w.writeThrough.write(versionOf(1, false)))._tag).toBe("Written")
        const deleted = yield* Effect.exit(w.writeThrough.delete(base.kind, base.id))
        expect(Exit.isFailure(deleted)).toBe(true)
        const again = yield* Effect.exit(w.writeThrough.write(versionOf(1, false)))
        const after = yield* stateOf(w, base.kind, base.id)
        // S3 no longer has v1: the write may rewrite it (Written) or fail, but never report it as already there.
        if (Exit.isSuccess(again)) {
          expect(again.value._tag).toBe("Written")
          expect(Option.getOrUndefined(after.object)).toEqual(versionOf(1, false))
        }
        expect(agreeOrNoEntry(after)).toBe(true)
      }).pipe(Effect.provide(quiet)),
  )

  it.effect("retries S3 with backoff on the clock: two throttles, then the put lands", () =>
    Effect.gen(function* () {
      const w = yield* world(["Throttle", "Throttle"], {
        retry: Retry.defaultPolicy,
        timing: {},
        only: (call) => call.operation === "PutObject",
      })
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1, false)))
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result._tag).toBe("Written")
      const puts = (yield* w.plan.calls).filter((c) => c.operation === "PutObject").map((c) => c.verdict)
      expect(puts).toEqual(["Throttle", "Throttle", "Ok"])
    }).pipe(Effect.provide(quiet)),
  )

  it.effect("S3 refusing for good rolls the cache back to the previous version, exactly", () =>
    Effect.gen(function* () {
      const w = yield* world(["Denied"], { only: (call) => call.operation === "PutObject" && call.key.length > 0 })
      const v1 = versionOf(1, false)
      // First put is refused: rolled back to nothing.
      const first = yield* w.writeThrough.write(v1)
      expect(first).toMatchObject({ _tag: "RolledBack", rollback: "Restored", key })
      expect(yield* stateOf(w, base.kind, base.id)).toEqual({ entry: Option.none(), object: Option.none() })
      expect((yield* w.writeThrough.write(v1))._tag).toBe("Written")
      expect((yield* w.writeThrough.write(v1))._tag).toBe("Unchanged")
      const stale = yield* Effect.flip(w.writeThrough.write(versionOf(0 + 1, true)))
      expect(stale._tag).toBe("StaleWriteError")
    }).pipe(Effect.provide(quiet)),
  )

  it.effect(
    "S3 and the rollback both failing is a RollbackFailedError naming the key, logged and counted for reconcile",
    () =>
      Effect.gen(function* () {
        const counter = (metric: Metric.Metric.Counter<number>, outcome?: string) =>
          Effect.map(
            Metric.value(outcome === undefined ? metric : Metric.tagged(metric, "outcome", outcome)),
            (state) => state.count,
          )
        const reconcileBefore = yield* counter(CacheMetrics.reconcileNeeded)
        const failedBefore = yield* counter(CacheMetrics.rollbacks, "failed")
        const w = yield* world(["Denied", "Denied"], {
          only: (call) => call.operation === "PutObject" || call.operation === "clearIntent",
        })
        const v1 = versionOf(1, false)
        yield* w.cache.put(versionOf(1, false), { s3Key: w.store.keyOf(base.kind, base.id) }).pipe(Effect.orDie)
        yield* w.store.put(v1)
        const error = yield* Effect.flip(w.writeThrough.write(versionOf(2, false)))
        expect(error._tag).toBe("RollbackFailedError")
        expect(error.message).toContain(key)
        expect(error.message).toContain("lease expires")
        expect(yield* counter(CacheMetrics.reconcileNeeded)).toBe(reconcileBefore + 1)
        expect(yield* counter(CacheMetrics.rollbacks, "failed")).toBe(failedBefore + 1)
      }).pipe(Effect.provide(quiet)),
  )

  it.effect(
    "S3 holding an object the cache does not know: an older one is replaced exactly once (If-Match its ETag), a newer or equal one refuses the write and stays",
    () =>
      Effect.gen(function* () {
        const objectVersion = (w: World) =>
          Effect.map(w.store.get(base.kind, base.id), (o) => Option.map(o, (s) => s.document.version)).pipe(
            Effect.orDie,
          )
        const ops = (w: World, since: number) =>
          Effect.map(w.plan.calls, (all) => all.slice(since).map((c) => `${c.port}.${c.operation}`))

        // A foreign v1 in S3, nothing cached: the create (If-None-Match) is refused, HEAD finds v1 < 2, and the
        // put is retried once over exactly that object.
        const older = yield* world([])
        yield* older.store.put(versionOf(1, false))
        const replaced = yield* older.writeThrough.write(versionOf(2, false))
        expect(replaced._tag).toBe("Written")
        expect(yield* objectVersion(older)).toEqual(Option.some(2))
        expect(yield* ops(older, 0)).toEqual([
          "cache.intend",
          "store.PutObject",
          "store.HeadObject",
          "store.PutObject",
          "cache.commit",
        ])
        const entry = yield* older.cache.get(base.kind, base.id)
        expect(Option.map(entry, (e) => e._tag === "Cached" && e.summary.version)).toEqual(Option.some(2))

        // A foreign v3 (newer): the write of v2 is stale, S3 keeps v3 and the intent is cleared.
        const newer = yield* world([])
        yield* newer.store.put(versionOf(3, false))
        const stale = yield* Effect.flip(newer.writeThrough.write(versionOf(2, false)))
        expect(stale).toMatchObject({ _tag: "StaleWriteError", reason: "OlderVersion", storedVersion: 3 })
        expect(yield* objectVersion(newer)).toEqual(Option.some(3))
        expect((yield* newer.cache.inspect(base.kind, base.id)).intent).toEqual(Option.none())

        // A foreign v2 with other content: the same version, so not ours to replace.
        const same = yield* world([])
        yield* same.store.put(versionOf(2, true))
        const clash = yield* Effect.flip(same.writeThrough.write(versionOf(2, false)))
        expect(clash).toMatchObject({
          _tag: "StaleWriteError",
          reason: "SameVersionDifferentContent",
          storedVersion: 2,
        })
        const kept = yield* same.store.get(base.kind, base.id).pipe(Effect.orDie)
        expect(Option.map(kept, (o) => o.document.title)).toEqual(Option.some("v2 (other content)"))

        // The cache knows v1, S3 got a foreign v4 behind it: the put of v3 is conditional on v1's ETag, so refused.
        const behindCache = yield* world([])
        expect((yield* behindCache.writeThrough.write(versionOf(1, false)))._tag).toBe("Written")
        yield* behindCache.store.put(versionOf(4, false))
        const older3 = yield* Effect.flip(behindCache.writeThrough.write(versionOf(3, false)))
        expect(older3).toMatchObject({ _tag: "StaleWriteError", reason: "OlderVersion", storedVersion: 4 })
        expect(yield* objectVersion(behindCache)).toEqual(Option.some(4))

        // S3 changes again between the HEAD and the retried put: the retry is conditional on what HEAD saw, so it
        // is refused too (StoreChanged), and the newer object stays.
        let raced: DocumentStore.MemoryStore | undefined
        let puts = 0
        const racing = yield* world([], {
          before: (call) =>
            call.operation === "PutObject" && ++puts === 2 && raced !== undefined
              ? Effect.asVoid(Effect.orDie(raced.put(versionOf(7, false))))
              : Effect.void,
        })
        raced = racing.store
        yield* racing.store.put(versionOf(1, false))
        const changed = yield* Effect.flip(racing.writeThrough.write(versionOf(2, false)))
        expect(changed).toMatchObject({ _tag: "WriteConflictError", reason: "StoreChanged" })
        expect(yield* objectVersion(racing)).toEqual(Option.some(7))
        expect((yield* racing.cache.inspect(base.kind, base.id)).intent).toEqual(Option.none())

        // Over a tombstone the create is conditional too: a foreign v5 written after the delete is not overwritten.
        const revived = yield* world([])
        expect((yield* revived.writeThrough.write(versionOf(1, false)))._tag).toBe("Written")
        expect((yield* revived.writeThrough.delete(base.kind, base.id))._tag).toBe("Deleted")
        yield* revived.store.put(versionOf(5, false))
        const behind = yield* Effect.flip(revived.writeThrough.write(versionOf(2, false)))
        expect(behind).toMatchObject({ _tag: "StaleWriteError", storedVersion: 5 })
        expect(yield* objectVersion(revived)).toEqual(Option.some(5))
      }).pipe(Effect.provide(quiet)),
  )

  it.effect(
    "a delete is conditional on the ETag the cache knows: S3 changed behind Docket refuses it (StoreChanged), the object and the committed entry stay",
    () =>
      Effect.gen(function* () {
        const w = yield* world([])
        expect((yield* w.writeThrough.write(versionOf(1, false)))._tag).toBe("Written")
        // v2 lands in S3 behind Docket's back (no event yet): the cache still knows v1's ETag.
        yield* w.store.put(versionOf(2, false))
        const refused = yield* Effect.flip(w.writeThrough.delete(base.kind, base.id))
        expect(refused).toMatchObject({ _tag: "WriteConflictError", reason: "StoreChanged", otherVersion: 2 })
        const after = yield* stateOf(w, base.kind, base.id)
        expect(Option.map(after.object, (d) => d.version)).toEqual(Option.some(2))
        expect(Option.map(after.entry, (e) => e._tag === "Cached" && e.summary.version)).toEqual(Option.some(1))
        expect((yield* w.cache.inspect(base.kind, base.id)).intent).toEqual(Option.none())
      }).pipe(Effect.provide(quiet)),
  )

  it.effect("the same document twice is Unchanged after one conditional write: no S3 call, no commit", () =>
    Effect.gen(function* () {
      const w = yield* world([])
      const v2 = versionOf(2, false)
      expect((yield* w.writeThrough.write(v2))._tag).toBe("Written")
      const before = (yield* w.plan.calls).length
      expect((yield* w.writeThrough.write(v2))._tag).toBe("Unchanged")
      const calls = (yield* w.plan.calls).slice(before).map((c) => `${c.port}.${c.operation}`)
      expect(calls).toEqual(["cache.intend"])
    }).pipe(Effect.provide(quiet)),
  )

  it.effect("three sequential calls per write and per delete, none of them a read: intend, S3, commit", () =>
    Effect.gen(function* () {
      const w = yield* world([])
      const calls = (since: number) =>
        Effect.map(w.plan.calls, (all) => all.slice(since).map((c) => `${c.port}.${c.operation}`))
      expect((yield* w.writeThrough.write(versionOf(1, false)))._tag).toBe("Written")
      expect(yield* calls(0)).toEqual(["cache.intend", "store.PutObject", "cache.commit"])
      const n = (yield* w.plan.calls).length
      expect((yield* w.writeThrough.write(versionOf(2, false)))._tag).toBe("Written")
      expect(yield* calls(n)).toEqual(["cache.intend", "store.PutObject", "cache.commit"])
      const m = (yield* w.plan.calls).length
      expect((yield* w.writeThrough.delete(base.kind, base.id))._tag).toBe("Deleted")
      expect(yield* calls(m)).toEqual(["cache.intend", "store.DeleteObject", "cache.commit"])
    }).pipe(Effect.provide(quiet)),
  )

  it.effect("cache off: writes and deletes go to S3 alone, the cache is never touched", () =>
    Effect.gen(function* () {
      const w = yield* world([], { settings: { cacheEnabled: false } })
      const v1 = versionOf(1, false)
      expect((yield* w.writeThrough.write(v1))._tag).toBe("Written")
      expect(Option.isSome(yield* w.store.get(base.kind, base.id))).toBe(true)
      expect(yield* w.cache.get(base.kind, base.id)).toEqual(Option.none())
      expect((yield* w.writeThrough.delete(base.kind, base.id))._tag).toBe("Deleted")
      expect(yield* w.store.get(base.kind, base.id)).toEqual(Option.none())
      expect((yield* w.plan.calls).every((c) => c.port === "store")).toBe(true)
    }).pipe(Effect.provide(quiet)),
  )

  it.effect("dry-run: nothing changes and the result lists what would happen; stale writes still fail", () =>
    Effect.gen(function* () {
      const w = yield* world([], { settings: { dryRun: true } })
      const v2 = versionOf(2, false)
      yield* w.store.put(v2)
      yield* w.cache.put(v2, { s3Key: w.store.keyOf(base.kind, base.id) })
      const before = yield* stateOf(w, base.kind, base.id)
      const result = yield* w.writeThrough.write(versionOf(3, false))
      expect(result._tag).toBe("DryRun")
      expect(result._tag === "DryRun" && result.actions.join("\n")).toContain("put s3")
      const deleted = yield* w.writeThrough.delete(base.kind, base.id)
      expect(deleted._tag).toBe("DryRun")
      expect((yield* Effect.flip(w.writeThrough.write(versionOf(1, false))))._tag).toBe("StaleWriteError")
      expect(yield* stateOf(w, base.kind, base.id)).toEqual(before)
      expect((yield* w.plan.calls).every((c) => c.operation === "get")).toBe(true)
    }).pipe(Effect.provide(quiet)),
  )
})

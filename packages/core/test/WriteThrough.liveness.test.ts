/**
 * Liveness of the write protocol on the memory layers, on the TestClock: every
 * write or delete ends within `DOCKET_WRITE_WAIT` plus one put budget of clock
 * time, whatever the fault schedule, and a writer whose intent call failed
 * leaves no intent for the next writer to wait out.
 *
 * The clock only moves when the test moves it, so a writer that waits, backs
 * off or times out past its bound is caught by polling its fiber after the
 * bound, never by measuring wall time.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FaultInjection from "../src/FaultInjection.js"
import * as WriteThrough from "../src/WriteThrough.js"
import { yieldTurn } from "./support/EventLoop.js"

const runs = Number(process.env.DOCKET_PROPERTY_RUNS ?? 300)
const schedulesTried = { sequential: 0, concurrent: 0 }
afterAll(() => {
  console.log(`WriteThrough liveness schedules tried: ${JSON.stringify(schedulesTried)}`)
})

const quiet = Logger.minimumLogLevel(LogLevel.None)

const leaseMillis = 2_000
const budgetMillis = 1_500
const writeWaitMillis = 3_000
/** The bound of one write or delete, in clock time (the memory calls themselves take none). */
const boundMillis = writeWaitMillis + budgetMillis

const world = (verdicts: ReadonlyArray<FaultInjection.Verdict>, delayMillis = 0) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory()
    const plan = yield* FaultInjection.plan(verdicts)
    // Faulty calls may take time (a `Timeout` or `Lost` answer after `delay`): the bound must still hold.
    const faults: FaultInjection.Options = {
      plan,
      retry: FaultInjection.immediateRetry(2),
      ...(delayMillis > 0 ? { delay: `${delayMillis} millis` } : {}),
    }
    const writeThrough = yield* WriteThrough.makeWith({
      lease: `${leaseMillis} millis`,
      putBudget: `${budgetMillis} millis`,
    }).pipe(
      Effect.provideService(DocumentCache.DocumentCache, FaultInjection.cache(cache, faults)),
      Effect.provideService(DocumentStore.DocumentStore, FaultInjection.store(store, faults)),
      Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test", writeWaitMillis })),
    )
    return { cache, store, writeThrough, plan }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

type World = Effect.Effect.Success<ReturnType<typeof world>>

const base = fc.sample(Arbitraries.change({ maxTextLength: 20, ids: ["CHG-live-1"] }), { numRuns: 1, seed: 11 })[0]!
const versionOf = (version: number): Document.AnyDocument => ({ ...base, version, title: `v${version}` })

type Op = number | "delete"
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 4 },
  { arbitrary: fc.constant("delete" as const), weight: 1 },
)

const runOp = (w: World, o: Op): Effect.Effect<unknown, unknown> =>
  o === "delete" ? w.writeThrough.delete(base.kind, base.id) : w.writeThrough.write(versionOf(o))

/** Clock time the calls themselves took that no budget covers: cache calls and HEADs answered late (`delay`). */
const slowCallsMillis = (calls: ReadonlyArray<FaultInjection.Recorded>, delayMillis: number) =>
  delayMillis *
  calls.filter(
    (c) =>
      (c.verdict === "Timeout" || c.verdict === "Lost") &&
      c.operation !== "PutObject" &&
      c.operation !== "DeleteObject",
  ).length

/**
 * Forks the ops at once, moves the clock by the bound (plus the time of late non-S3 calls, which their own
 * SDK timeouts bound), and fails naming the schedule if one is still running.
 */
const endWithinBound = (w: World, ops: ReadonlyArray<Op>, delayMillis: number, schedule: string) =>
  Effect.gen(function* () {
    const start = (yield* w.plan.calls).length
    const fibers = yield* Effect.forEach(ops, (o) => Effect.fork(Effect.exit(runOp(w, o))))
    let moved = 0
    for (;;) {
      const allowed = boundMillis + slowCallsMillis((yield* w.plan.calls).slice(start), delayMillis)
      if (moved >= allowed) break
      yield* TestClock.adjust(`${allowed - moved} millis`)
      moved = allowed
    }
    for (const [i, fiber] of fibers.entries()) {
      const polled = yield* Fiber.poll(fiber)
      if (Option.isNone(polled)) {
        const calls = (yield* w.plan.calls).map((c) => `${c.port}.${c.operation}:${c.verdict}`)
        yield* Effect.forEach(fibers, Fiber.interrupt)
        return yield* Effect.dieMessage(
          `op ${JSON.stringify(ops[i])} still running ${moved} ms of clock time after it started; ${schedule}; calls ${JSON.stringify(calls)}`,
        )
      }
    }
  })

describe("WriteThrough liveness", () => {
  it.effect(
    "liveness: every write or delete ends within DOCKET_WRITE_WAIT plus one put budget of clock time, under any fault schedule (sequential)",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(op, { minLength: 1, maxLength: 6 }),
            FaultInjection.verdicts({ maxLength: 20 }),
            fc.constantFrom(0, 500, 3_000),
            async (ops, verdicts, delay) => {
              schedulesTried.sequential++
              await Effect.runPromise(
                Effect.gen(function* () {
                  // Let the test runner's worker breathe between runs (support/EventLoop.ts says why).
                  yield* yieldTurn
                  const w = yield* world(verdicts, delay)
                  for (const o of ops) {
                    yield* endWithinBound(
                      w,
                      [o],
                      delay,
                      `ops ${JSON.stringify(ops)}, verdicts ${JSON.stringify(verdicts)}, delay ${delay}`,
                    )
                  }
                }).pipe(Effect.provide(quiet), Effect.provide(TestContext.TestContext)),
              )
            },
          ),
          { numRuns: runs },
        ),
      ),
    240_000,
  )

  it.effect(
    "liveness: concurrent writers of one key all end within DOCKET_WRITE_WAIT plus one put budget of clock time",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
            FaultInjection.verdicts({ maxLength: 30 }),
            fc.constantFrom(0, 500),
            async (groups, verdicts, delay) => {
              schedulesTried.concurrent++
              await Effect.runPromise(
                Effect.gen(function* () {
                  // Let the test runner's worker breathe between runs (support/EventLoop.ts says why).
                  yield* yieldTurn
                  const w = yield* world(verdicts, delay)
                  for (const group of groups) {
                    yield* endWithinBound(
                      w,
                      group,
                      delay,
                      `groups ${JSON.stringify(groups)}, verdicts ${JSON.stringify(verdicts)}, delay ${delay}`,
                    )
                  }
                }).pipe(Effect.provide(quiet), Effect.provide(TestContext.TestContext)),
              )
            },
          ),
          { numRuns: runs },
        ),
      ),
    240_000,
  )

  // The schedule that hung the DynamoDB Local property (seed 1107993948, case 1): the intent call's first
  // attempt landed with its answer lost, its retry failed, so the write failed and left its intent; the delete
  // after it was blocked by that intent for a whole lease (forever on a clock that did not move).
  it.effect("a write whose intent call failed after landing clears its intent: the next writer is not blocked", () =>
    Effect.gen(function* () {
      const w = yield* world(["Lost", "Unavailable", "Ok", "Ok", "Lost", "Ok", "Timeout", "Timeout"])
      const failed = yield* Effect.exit(w.writeThrough.write(versionOf(4)))
      expect(Exit.isFailure(failed) && String(failed.cause)).toContain("CacheError")
      const after = yield* w.cache.inspect(base.kind, base.id).pipe(Effect.orDie)
      expect(after.intent).toEqual(Option.none())
      const before = (yield* w.plan.calls).length
      const fiber = yield* Effect.fork(Effect.exit(w.writeThrough.delete(base.kind, base.id)))
      // One millisecond of clock time, less than any backoff: the delete must not wait for anything.
      yield* TestClock.adjust("1 millis")
      expect(Option.isSome(yield* Fiber.poll(fiber))).toBe(true)
      const intends = (yield* w.plan.calls).slice(before).filter((c) => c.operation === "intend")
      expect(intends.map((c) => c.verdict)).toEqual(["Ok"])
    }).pipe(Effect.provide(quiet)),
  )

  it.effect("a writer blocked by another writer's live intent fails with WriteConflictError at DOCKET_WRITE_WAIT", () =>
    Effect.gen(function* () {
      const w = yield* world([])
      // Another writer's intent with a lease far beyond the wait (a writer that renews, or a skewed clock).
      const now = yield* TestClock.currentTimeMillis
      yield* w.cache
        .intend({
          kind: base.kind,
          id: base.id,
          writer: "other",
          s3Key: w.store.keyOf(base.kind, base.id),
          leaseExpiresAt: now + 10 * writeWaitMillis,
          change: { _tag: "Put", document: versionOf(9), etag: '"e9"' },
        })
        .pipe(Effect.orDie)
      const fiber = yield* Effect.fork(Effect.flip(w.writeThrough.write(versionOf(2))))
      yield* TestClock.adjust(`${writeWaitMillis - 1} millis`)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const polled = yield* Fiber.poll(fiber)
      expect(Option.isSome(polled)).toBe(true)
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "WriteConflictError", reason: "Contention", otherVersion: 9 })
      expect(error.message).toContain(`${base.kind}/${base.id}`)
    }).pipe(Effect.provide(quiet)),
  )
})

describe("WriteThrough lease", () => {
  const lease = 15_000
  const budget = 10_000
  /** A writer whose first intent call takes 6 s and fails, so its retry records a lease with 9 s left. */
  const slowIntent = (before: FaultInjection.Options["before"]) =>
    Effect.gen(function* () {
      const cache = yield* DocumentCache.makeMemory()
      const store = yield* DocumentStore.makeMemory()
      const plan = yield* FaultInjection.plan(["Timeout"], { only: (c) => c.operation === "intend" })
      const faults: FaultInjection.Options = {
        plan,
        retry: FaultInjection.immediateRetry(2),
        delay: "6 seconds",
        ...(before !== undefined ? { before } : {}),
      }
      const writeThrough = yield* WriteThrough.makeWith({
        lease: `${lease} millis`,
        putBudget: `${budget} millis`,
      }).pipe(
        Effect.provideService(DocumentCache.DocumentCache, FaultInjection.cache(cache, faults)),
        Effect.provideService(DocumentStore.DocumentStore, FaultInjection.store(store, faults)),
        Effect.provideService(
          DocketConfig.DocketConfig,
          DocketConfig.make({ bucket: "test", writeWaitMillis: 20_000 }),
        ),
      )
      return { cache, store, plan, writeThrough }
    }).pipe(Effect.provide(DocumentKind.layerDefault))

  it.effect(
    "a writer whose put budget would pass its lease renews the lease first: no put is in flight past its lease",
    () =>
      Effect.gen(function* () {
        const leftAtPut: Array<number> = []
        let cache: DocumentCache.Service | undefined
        const w = yield* slowIntent((call) =>
          call.operation === "PutObject" && cache !== undefined
            ? Effect.gen(function* () {
                const intent = (yield* Effect.orDie(cache!.inspect(base.kind, base.id))).intent
                leftAtPut.push(Option.getOrThrow(intent).leaseExpiresAt - (yield* TestClock.currentTimeMillis))
              })
            : Effect.void,
        )
        cache = w.cache
        const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
        yield* TestClock.adjust("7 seconds")
        const polled = yield* Fiber.poll(fiber)
        expect(Option.isSome(polled)).toBe(true)
        expect((yield* Fiber.join(fiber))._tag).toBe("Written")
        // The put's whole budget fits in the (renewed) lease.
        expect(leftAtPut).toEqual([lease])
        expect(leftAtPut.every((left) => left >= budget)).toBe(true)
        const calls = (yield* w.plan.calls).map((c) => `${c.port}.${c.operation}:${c.verdict}`)
        expect(calls).toEqual([
          "cache.intend:Timeout",
          "cache.intend:Ok",
          "cache.intend:Ok",
          "store.PutObject:Ok",
          "cache.commit:Ok",
        ])
        const after = yield* Effect.orDie(w.cache.inspect(base.kind, base.id))
        expect(after.intent).toEqual(Option.none())
      }).pipe(Effect.provide(quiet)),
  )

  it.effect(
    "a renewal that finds another writer's intent (ours was resolved meanwhile) ends the write without an S3 call",
    () =>
      Effect.gen(function* () {
        let cache: DocumentCache.Service | undefined
        let intends = 0
        const w = yield* slowIntent((call) => {
          if (call.operation !== "intend" || cache === undefined || ++intends !== 3) return Effect.void
          // Before the renewal: a resolver dropped our intent, and another writer recorded its own.
          return Effect.gen(function* () {
            const ours = Option.getOrThrow((yield* Effect.orDie(cache!.inspect(base.kind, base.id))).intent)
            yield* Effect.orDie(cache!.clearIntent(base.kind, base.id, ours.writer))
            yield* Effect.orDie(
              cache!.intend({
                kind: base.kind,
                id: base.id,
                writer: "other",
                s3Key: ours.s3Key,
                leaseExpiresAt: (yield* TestClock.currentTimeMillis) + lease,
                change: { _tag: "Put", document: versionOf(7), etag: '"e7"' },
              }),
            )
          })
        })
        cache = w.cache
        const fiber = yield* Effect.fork(Effect.flip(w.writeThrough.write(versionOf(1))))
        yield* TestClock.adjust("7 seconds")
        expect(Option.isSome(yield* Fiber.poll(fiber))).toBe(true)
        const error = yield* Fiber.join(fiber)
        expect(error).toMatchObject({ _tag: "WriteConflictError", reason: "Contention", otherWriter: "other" })
        expect((yield* w.plan.calls).filter((c) => c.port === "store")).toEqual([])
        expect(yield* w.store.get(base.kind, base.id)).toEqual(Option.none())
      }).pipe(Effect.provide(quiet)),
  )
})

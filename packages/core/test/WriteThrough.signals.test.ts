/**
 * What the write path tells its caller and its operator, pinned where the mutation
 * pass of issue #11 found it untested (docs/testing.md, "fourth pass"): the typed
 * errors' fields (the key, both versions, the other writer, the operation, the
 * wait), the log lines' levels and fields (`by` of the resolver, the sweep's
 * report), the counters by outcome, the wait for another writer on the TestClock
 * (each retry's instant, the 1 s cap, the end at `DOCKET_WRITE_WAIT` or at the
 * other's lease), an S3 call refused past its deadline, the S3 retry after a
 * refused put, and the prior state a write returns. Memory layers only
 * (`support/WriteWorld.ts`, shared with `WriteThrough.paths.test.ts`).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import type * as CacheEntry from "../src/CacheEntry.js"
import * as CacheMetrics from "../src/CacheMetrics.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FaultInjection from "../src/FaultInjection.js"
import * as Heal from "../src/Heal.js"
import { type Line, logsOf } from "./support/Logs.js"
import {
  base,
  callsOf,
  count,
  etagOf,
  foreignIntent,
  inspect,
  key,
  meanwhile,
  type Setup,
  settle,
  slow,
  versionOf,
  type World,
  world,
} from "./support/WriteWorld.js"

const lineOf = (lines: ReadonlyArray<Line>, operation: string) => lines.find((l) => l.fields.operation === operation)
const linesOf = (lines: ReadonlyArray<Line>, operation: string) => lines.filter((l) => l.fields.operation === operation)

/** The instants (TestClock ms) of the writer's intent calls, and a world recording them. */
const timedWorld = (setup: Setup) => {
  const intends: Array<number> = []
  const before: Setup["before"] = (call) =>
    call.operation === "intend"
      ? Effect.map(TestClock.currentTimeMillis, (now) => {
          intends.push(now)
        })
      : Effect.void
  return Effect.map(world({ ...setup, before }), (w) => ({ ...w, intends }))
}

/** The writer's jitter fixed: `1` waits the whole backoff, `0` half of it. */
const jitter = (value: 0 | 1) => Effect.withRandom(Random.fixed([value]))

/** A world whose raw store is reachable from `before` (S3 changing under a call). */
const racingWorld = (
  setup: Setup,
  race: (store: DocumentStore.Service, call: FaultInjection.Call) => Effect.Effect<void>,
) => {
  let store: DocumentStore.Service | undefined
  return Effect.tap(
    world({ ...setup, before: (call) => (store === undefined ? Effect.void : race(store, call)) }),
    (w) => {
      store = w.store
    },
  )
}

const cachedOf = (entry: Option.Option<CacheEntry.Entry>) =>
  Option.map(entry, (e) => (e._tag === "Cached" ? [e.summary.version, e.etag] : e._tag))

describe("write path signals: the wait for another writer (TestClock)", () => {
  it.effect(
    "a blocked writer retries after 20, 40, 80 ... ms, never more than 1 s, and gives up exactly at DOCKET_WRITE_WAIT",
    () =>
      Effect.gen(function* () {
        const conflicts = yield* count(CacheMetrics.writes, "conflict")
        const w = yield* timedWorld({ settings: { writeWaitMillis: 3_000 } })
        // Not at 0: the wait is counted from the write's start, not from the epoch.
        yield* TestClock.adjust("1 second")
        yield* foreignIntent(w, 60_000, 4)
        const fiber = yield* Effect.fork(logsOf(Effect.flip(w.writeThrough.write(versionOf(1)).pipe(jitter(1)))))
        yield* TestClock.adjust("2999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const { value: error, lines } = yield* Fiber.join(fiber)
        expect(w.intends).toEqual([0, 20, 60, 140, 300, 620, 1260, 2260, 3000].map((t) => 1_000 + t))
        expect(error).toMatchObject({
          _tag: "WriteConflictError",
          reason: "Contention",
          operation: "write",
          key,
          otherVersion: 4,
          otherWriter: "other",
          waitedMillis: 3_000,
        })
        const line = lineOf(lines, "writeThrough.write")
        expect(line?.level).toBe("WARN")
        expect(line?.fields).toMatchObject({ key, version: 1, outcome: "WriteConflictError:Contention" })
        expect(yield* count(CacheMetrics.writes, "conflict")).toBe(conflicts + 1)
        expect(w.puts).toEqual([])
      }),
  )

  it.effect(
    "with the least jitter a retry waits half its backoff, and never past the other's lease: its writer resolves it there (by: writer, dropped)",
    () =>
      Effect.gen(function* () {
        const dropped = yield* count(CacheMetrics.intentsResolved, "dropped")
        const w = yield* timedWorld({})
        yield* foreignIntent(w, 45)
        const fiber = yield* Effect.fork(logsOf(w.writeThrough.write(versionOf(1)).pipe(jitter(0))))
        yield* TestClock.adjust("44 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        expect(w.intends).toEqual([0, 10, 30])
        yield* TestClock.adjust("1 millis")
        const { value, lines } = yield* Fiber.join(fiber)
        expect(value).toMatchObject({ _tag: "Written", version: 1, previous: Option.none() })
        expect(w.intends).toEqual([0, 10, 30, 45, 45])
        const resolved = lineOf(lines, "heal.resolve")
        expect(resolved?.level).toBe("INFO")
        expect(resolved?.fields).toMatchObject({
          key,
          by: "writer",
          writer: "other",
          intent: "put",
          version: 9,
          outcome: "dropped",
        })
        expect(yield* count(CacheMetrics.intentsResolved, "dropped")).toBe(dropped + 1)
      }),
  )

  it.effect("an expired intent whose put landed is rolled forward by the next writer, which then writes over it", () =>
    Effect.gen(function* () {
      const forward = yield* count(CacheMetrics.intentsResolved, "rolled-forward")
      const w = yield* world()
      yield* Effect.orDie(w.store.put(versionOf(9)))
      yield* foreignIntent(w, 0)
      const { value, lines } = yield* logsOf(w.writeThrough.write(versionOf(10)))
      expect(value).toMatchObject({ _tag: "Written", version: 10 })
      expect(value._tag === "Written" && cachedOf(value.previous)).toEqual(Option.some([9, etagOf(versionOf(9))]))
      expect(w.puts).toEqual([{ ifMatch: etagOf(versionOf(9)), deadline: 10_000 }])
      expect(lineOf(lines, "heal.resolve")?.fields).toMatchObject({ by: "writer", outcome: "rolled-forward" })
      expect(yield* count(CacheMetrics.intentsResolved, "rolled-forward")).toBe(forward + 1)
    }),
  )
  it.effect(
    "a delete blocked past DOCKET_WRITE_WAIT is a Contention conflict of the delete, naming the other writer",
    () =>
      Effect.gen(function* () {
        const w = yield* world({ settings: { writeWaitMillis: 500 } })
        yield* foreignIntent(w, 60_000, 4)
        const fiber = yield* Effect.fork(Effect.flip(w.writeThrough.delete(base.kind, base.id)))
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toMatchObject({
          _tag: "WriteConflictError",
          reason: "Contention",
          operation: "delete",
          key,
          otherVersion: 4,
          otherWriter: "other",
        })
        expect(w.deletes).toEqual([])
      }),
  )

  it.effect(
    "a write's renewal blocked by another writer is a Contention conflict of the write, without an S3 call",
    () =>
      Effect.gen(function* () {
        const m = meanwhile((cache) =>
          cache.intend({
            kind: base.kind,
            id: base.id,
            writer: "other",
            s3Key: "k",
            leaseExpiresAt: 99_000,
            change: { _tag: "Put", document: versionOf(7), etag: '"e7"' },
          }),
        )
        const w = yield* slow("6 seconds", ["Timeout"], m.before)
        m.bind(w)
        const fiber = yield* Effect.fork(Effect.flip(w.writeThrough.write(versionOf(1))))
        yield* TestClock.adjust("6 seconds")
        expect(yield* Fiber.join(fiber)).toMatchObject({
          _tag: "WriteConflictError",
          reason: "Contention",
          operation: "write",
          key,
          otherVersion: 7,
          otherWriter: "other",
          waitedMillis: 0,
        })
        expect(w.puts).toEqual([])
      }),
  )
})

describe("write path signals: S3 refusing a write", () => {
  it.effect(
    "S3 holding a newer version the cache did not know: StaleWriteError naming the key and both versions; intent cleared, rollback logged and counted",
    () =>
      Effect.gen(function* () {
        const ok = yield* count(CacheMetrics.rollbacks, "ok")
        const stale = yield* count(CacheMetrics.writes, "stale")
        const w = yield* world()
        yield* Effect.orDie(w.store.put(versionOf(5)))
        const { value: error, lines } = yield* logsOf(Effect.flip(w.writeThrough.write(versionOf(3))))
        expect(error).toMatchObject({
          _tag: "StaleWriteError",
          key,
          attemptedVersion: 3,
          storedVersion: 5,
          reason: "OlderVersion",
        })
        expect(yield* inspect(w)).toEqual({ entry: Option.none(), intent: Option.none() })
        expect(w.puts).toEqual([{ ifNoneMatch: "*", deadline: 10_000 }])
        expect(lineOf(lines, "writeThrough.rollback")?.fields).toMatchObject({
          key,
          s3Key: w.s3Key,
          of: "write",
          rollback: "Restored",
        })
        expect(lineOf(lines, "writeThrough.write")?.fields).toMatchObject({ outcome: "StaleWriteError:OlderVersion" })
        expect(yield* count(CacheMetrics.rollbacks, "ok")).toBe(ok + 1)
        expect(yield* count(CacheMetrics.writes, "stale")).toBe(stale + 1)

        const same = yield* world()
        yield* Effect.orDie(same.store.put(versionOf(3, true)))
        expect(yield* Effect.flip(same.writeThrough.write(versionOf(3)))).toMatchObject({
          _tag: "StaleWriteError",
          key,
          attemptedVersion: 3,
          storedVersion: 3,
          reason: "SameVersionDifferentContent",
        })
      }),
  )

  it.effect("S3 emptied between the refused put and its HEAD: the retry is If-None-Match * and the write lands", () =>
    Effect.gen(function* () {
      let heads = 0
      const w = yield* racingWorld({}, (store, call) =>
        call.operation === "HeadObject" && ++heads === 1 ? Effect.orDie(store.delete(base.kind, base.id)) : Effect.void,
      )
      yield* Effect.orDie(w.store.put(versionOf(1)))
      const result = yield* w.writeThrough.write(versionOf(2))
      expect(result).toMatchObject({ _tag: "Written", version: 2, previous: Option.none() })
      expect(w.puts).toEqual([
        { ifNoneMatch: "*", deadline: 10_000 },
        { ifNoneMatch: "*", deadline: 10_000 },
      ])
      expect(cachedOf((yield* inspect(w)).entry)).toEqual(Option.some([2, etagOf(versionOf(2))]))
    }),
  )

  it.effect(
    "an older foreign object is replaced If-Match its ETag; S3 changing again meanwhile is StoreChanged of the write, naming the version S3 held, no wait",
    () =>
      Effect.gen(function* () {
        let puts = 0
        const w = yield* racingWorld({}, (store, call) =>
          call.operation === "PutObject" && ++puts === 2
            ? Effect.asVoid(Effect.orDie(store.put(versionOf(1, true))))
            : Effect.void,
        )
        yield* Effect.orDie(w.store.put(versionOf(1)))
        const { value: error, lines } = yield* logsOf(Effect.flip(w.writeThrough.write(versionOf(2))))
        expect(error).toMatchObject({
          _tag: "WriteConflictError",
          reason: "StoreChanged",
          operation: "write",
          key,
          otherVersion: 1,
          waitedMillis: 0,
        })
        expect(error).not.toHaveProperty("otherWriter")
        expect(w.puts).toEqual([
          { ifNoneMatch: "*", deadline: 10_000 },
          { ifMatch: etagOf(versionOf(1)), deadline: 10_000 },
        ])
        expect(yield* inspect(w)).toEqual({ entry: Option.none(), intent: Option.none() })
        expect(lineOf(lines, "writeThrough.rollback")?.fields).toMatchObject({ of: "write", rollback: "Restored" })
        const head = yield* Effect.orDie(w.store.head(w.s3Key))
        expect(Option.map(head, (h) => h.etag)).toEqual(Option.some(etagOf(versionOf(1, true))))
      }),
  )

  it.effect("the retry over an older foreign object failing otherwise is RolledBack with the retry's error", () =>
    Effect.gen(function* () {
      const w = yield* world({ verdicts: ["Ok", "Denied"], only: (c) => c.operation === "PutObject" })
      yield* Effect.orDie(w.store.put(versionOf(1)))
      const { value: result, lines } = yield* logsOf(w.writeThrough.write(versionOf(2)))
      expect(lineOf(lines, "writeThrough.rollback")?.fields).toMatchObject({ key, of: "write", rollback: "Restored" })
      expect(result).toMatchObject({
        _tag: "RolledBack",
        key,
        s3Key: w.s3Key,
        version: 2,
        rollback: "Restored",
        cause: { _tag: "StoreError", reason: "AccessDenied", operation: "PutObject", key: w.s3Key },
      })
      expect(w.puts).toHaveLength(2)
      expect(yield* inspect(w)).toEqual({ entry: Option.none(), intent: Option.none() })
    }),
  )

  it.effect(
    "a refused put whose HEAD fails: RollbackFailedError with the refusal and the HEAD's error; the intent stays, counted failed and for reconcile",
    () =>
      Effect.gen(function* () {
        const failed = yield* count(CacheMetrics.rollbacks, "failed")
        const reconcile = yield* count(CacheMetrics.reconcileNeeded)
        const w = yield* world({ verdicts: ["Denied"], only: (c) => c.operation === "HeadObject" })
        yield* Effect.orDie(w.store.put(versionOf(1)))
        const error = yield* Effect.flip(w.writeThrough.write(versionOf(2)))
        expect(error).toMatchObject({
          _tag: "RollbackFailedError",
          operation: "write",
          key,
          s3Key: w.s3Key,
          cause: { _tag: "StoreError", reason: "PreconditionFailed", operation: "PutObject", key: w.s3Key },
          rollbackCause: { _tag: "StoreError", reason: "AccessDenied", operation: "HeadObject", key: w.s3Key },
        })
        expect(w.puts).toHaveLength(1)
        expect(Option.isSome((yield* inspect(w)).intent)).toBe(true)
        expect(yield* count(CacheMetrics.rollbacks, "failed")).toBe(failed + 1)
        expect(yield* count(CacheMetrics.reconcileNeeded)).toBe(reconcile + 1)
      }),
  )

  it.effect(
    "a delete refused because S3 changed behind the cache: StoreChanged of the delete naming S3's version; the rollback is the delete's",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        yield* w.writeThrough.write(versionOf(1))
        yield* Effect.orDie(w.store.put(versionOf(3)))
        const { value: error, lines } = yield* logsOf(Effect.flip(w.writeThrough.delete(base.kind, base.id)))
        expect(error).toMatchObject({
          _tag: "WriteConflictError",
          reason: "StoreChanged",
          operation: "delete",
          key,
          otherVersion: 3,
          waitedMillis: 0,
        })
        expect(w.deletes).toEqual([{ ifMatch: etagOf(versionOf(1)), deadline: 10_000 }])
        const after = yield* inspect(w)
        expect([cachedOf(after.entry), after.intent]).toEqual([Option.some([1, etagOf(versionOf(1))]), Option.none()])
        expect(lineOf(lines, "writeThrough.rollback")?.fields).toMatchObject({
          key,
          of: "delete",
          rollback: "Restored",
        })
        const line = lineOf(lines, "writeThrough.delete")
        expect(line?.level).toBe("WARN")
        expect(line?.fields).toMatchObject({ key, s3Key: w.s3Key, outcome: "WriteConflictError:StoreChanged" })
      }),
  )

  it.effect(
    "a clear that fails after a refused put is counted failed and for reconcile; its rollback line is a warning",
    () =>
      Effect.gen(function* () {
        const failed = yield* count(CacheMetrics.rollbacks, "failed")
        const ok = yield* count(CacheMetrics.rollbacks, "ok")
        const reconcile = yield* count(CacheMetrics.reconcileNeeded)
        const w = yield* world({
          verdicts: ["Denied", "Denied"],
          only: (c) => c.operation === "PutObject" || c.operation === "clearIntent",
        })
        const { lines } = yield* logsOf(Effect.flip(w.writeThrough.write(versionOf(1))))
        expect(yield* count(CacheMetrics.rollbacks, "failed")).toBe(failed + 1)
        expect(yield* count(CacheMetrics.rollbacks, "ok")).toBe(ok)
        expect(yield* count(CacheMetrics.reconcileNeeded)).toBe(reconcile + 1)
        expect(lineOf(lines, "writeThrough.rollback")?.level).toBe("WARN")
        expect(lineOf(lines, "writeThrough.rollback")?.fields).toMatchObject({
          s3Key: w.s3Key,
          outcome: "RollbackFailedError",
        })
      }),
  )

  it.effect(
    "an intent call that landed but lost its answer is cleared by its writer: the write fails, nothing is held",
    () =>
      Effect.gen(function* () {
        const failedWrites = yield* count(CacheMetrics.writes, "failed")
        const w = yield* world({ verdicts: ["Lost"], only: (c) => c.operation === "intend" })
        const error = yield* Effect.flip(w.writeThrough.write(versionOf(1)))
        expect(error).toMatchObject({ _tag: "CacheError", reason: "Timeout", operation: "intend", key })
        expect(yield* callsOf(w)).toEqual(["cache.intend:Lost", "cache.clearIntent:Ok"])
        expect(yield* inspect(w)).toEqual({ entry: Option.none(), intent: Option.none() })
        expect(yield* count(CacheMetrics.writes, "failed")).toBe(failedWrites + 1)
      }),
  )
})

describe("write path signals: an S3 call past its deadline", () => {
  it.effect(
    "a renewal slow enough to outlast the lease: the put is never sent, RolledBack with a Timeout of PutObject",
    () =>
      Effect.gen(function* () {
        const w = yield* slow("6 seconds", ["Timeout", "Ok", "Timeout", "Timeout"])
        const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
        yield* TestClock.adjust("30 seconds")
        const result = yield* Fiber.join(fiber)
        expect(result).toMatchObject({
          _tag: "RolledBack",
          key,
          version: 1,
          rollback: "Restored",
          cause: { _tag: "StoreError", reason: "Timeout", operation: "PutObject", key: w.s3Key },
        })
        expect(w.puts).toEqual([])
        expect(yield* inspect(w)).toEqual({ entry: Option.none(), intent: Option.none() })
      }),
  )

  it.effect("the same for a delete: never sent, RolledBack with a Timeout of DeleteObject and no version", () =>
    Effect.gen(function* () {
      const w = yield* slow("6 seconds", ["Timeout", "Ok", "Timeout", "Timeout"])
      // An object in S3 (so the HEAD after the refusal finds it: not deleted after all).
      yield* Effect.orDie(w.store.put(versionOf(1)))
      const fiber = yield* Effect.fork(w.writeThrough.delete(base.kind, base.id))
      yield* TestClock.adjust("30 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result).toMatchObject({
        _tag: "RolledBack",
        key,
        rollback: "Restored",
        cause: { _tag: "StoreError", reason: "Timeout", operation: "DeleteObject", key: w.s3Key },
      })
      expect(result).not.toHaveProperty("version")
      expect(w.deletes).toEqual([])
    }),
  )
  it.effect(
    "S3 slow to answer the HEAD after a refused put until the deadline: the retry is never sent (not even with 0 ms left), RolledBack with a Timeout of PutObject",
    () =>
      Effect.gen(function* () {
        const w = yield* racingWorld({}, (_, call) =>
          call.operation === "HeadObject" ? Effect.sleep("10 seconds") : Effect.void,
        )
        yield* Effect.orDie(w.store.put(versionOf(1)))
        const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(2)))
        yield* TestClock.adjust("10 seconds")
        const result = yield* Fiber.join(fiber)
        expect(result).toMatchObject({
          _tag: "RolledBack",
          key,
          version: 2,
          rollback: "Restored",
          cause: { _tag: "StoreError", reason: "Timeout", operation: "PutObject", key: w.s3Key },
        })
        expect(w.puts).toEqual([{ ifNoneMatch: "*", deadline: 10_000 }])
        expect(yield* inspect(w)).toEqual({ entry: Option.none(), intent: Option.none() })
      }),
  )
})

describe("write path signals: the prior state a write returns", () => {
  it.effect("a write and a delete return the committed entry they replaced", () =>
    Effect.gen(function* () {
      const w = yield* world()
      const first = yield* w.writeThrough.write(versionOf(1))
      expect(first._tag === "Written" && first.previous).toEqual(Option.none())
      const second = yield* w.writeThrough.write(versionOf(2))
      expect(second._tag === "Written" && cachedOf(second.previous)).toEqual(Option.some([1, etagOf(versionOf(1))]))
      const deleted = yield* w.writeThrough.delete(base.kind, base.id)
      expect(deleted._tag === "Deleted" && cachedOf(deleted.previous)).toEqual(Option.some([2, etagOf(versionOf(2))]))
      const again = yield* w.writeThrough.write(versionOf(3))
      expect(again._tag === "Written" && cachedOf(again.previous)).toEqual(Option.some("Tombstone"))
    }),
  )

  it.effect(
    "the results in full, and the intent each records: a put's with its version and ETag, a delete's without",
    () =>
      Effect.gen(function* () {
        const intents: Array<unknown> = []
        let cache: DocumentCache.Service | undefined
        const w = yield* world({
          before: (call) =>
            (call.operation === "PutObject" || call.operation === "DeleteObject") && cache !== undefined
              ? Effect.map(Effect.orDie(cache.inspect(base.kind, base.id)), (s) => {
                  intents.push(Option.getOrUndefined(s.intent))
                })
              : Effect.void,
        })
        cache = w.cache
        const v1 = versionOf(1)
        expect(yield* w.writeThrough.write(v1)).toEqual({
          _tag: "Written",
          key,
          s3Key: w.s3Key,
          version: 1,
          etag: etagOf(v1),
          previous: Option.none(),
          repaired: false,
        })
        expect(yield* w.writeThrough.write(v1)).toEqual({ _tag: "Unchanged", key, s3Key: w.s3Key, version: 1 })
        yield* TestClock.adjust("1 second")
        const deleted = yield* w.writeThrough.delete(base.kind, base.id)
        expect(deleted).toMatchObject({ _tag: "Deleted", key, s3Key: w.s3Key })
        expect(Object.keys(deleted).sort()).toEqual(["_tag", "key", "previous", "s3Key"])
        expect(intents).toEqual([
          {
            writer: expect.any(String),
            operation: "put",
            version: 1,
            etag: etagOf(v1),
            s3Key: w.s3Key,
            leaseExpiresAt: 15_000,
          },
          { writer: expect.any(String), operation: "delete", s3Key: w.s3Key, leaseExpiresAt: 16_000 },
        ])
      }),
  )

  it.effect("a renewal's re-read replaces the first intent's: the put goes over what the renewal found", () =>
    Effect.gen(function* () {
      const m = meanwhile((cache) => cache.put(versionOf(1), { s3Key: "elsewhere" }))
      const w = yield* slow("6 seconds", ["Timeout"], m.before)
      m.bind(w)
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(2)))
      yield* TestClock.adjust("6 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result._tag === "Written" && cachedOf(result.previous)).toEqual(Option.some([1, undefined]))
      // The entry put outside the protocol knows no ETag: the put carries no condition, only its deadline.
      expect(w.puts).toEqual([{ deadline: 16_000 }])
    }),
  )
})

describe("write path signals: lines and counters of the other outcomes", () => {
  it.effect("Unchanged and Deleted lines name their outcome; dry runs count dry-run, cache-off writes written", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* w.writeThrough.write(versionOf(1))
      const unchanged = yield* logsOf(w.writeThrough.write(versionOf(1)))
      expect(lineOf(unchanged.lines, "writeThrough.write")).toMatchObject({
        level: "INFO",
        fields: { key, version: 1, outcome: "Unchanged" },
      })
      const deleted = yield* logsOf(w.writeThrough.delete(base.kind, base.id))
      expect(lineOf(deleted.lines, "writeThrough.delete")).toMatchObject({
        level: "INFO",
        fields: { key, s3Key: w.s3Key, outcome: "Deleted" },
      })

      const dryRuns = yield* count(CacheMetrics.writes, "dry-run")
      const dry = yield* world({ settings: { dryRun: true } })
      yield* dry.writeThrough.write(versionOf(1))
      expect(yield* count(CacheMetrics.writes, "dry-run")).toBe(dryRuns + 1)

      const written = yield* count(CacheMetrics.writes, "written")
      const off = yield* world({ settings: { cacheEnabled: false } })
      yield* off.writeThrough.write(versionOf(1))
      expect(yield* count(CacheMetrics.writes, "written")).toBe(written + 1)
      expect(yield* off.plan.calls).toEqual([
        expect.objectContaining({ port: "store", operation: "PutObject", verdict: "Ok" }),
      ])
    }),
  )
})

describe("write path signals: resolution, meet and the sweep", () => {
  /** Another writer's intent for `document`, its lease ending at `leaseExpiresAt`. */
  const intentFor = (w: World, document: Document.AnyDocument, leaseExpiresAt: number, writer = "dead") =>
    Effect.orDie(
      Effect.gen(function* () {
        yield* w.cache.intend({
          kind: document.kind,
          id: document.id,
          writer,
          s3Key: w.store.keyOf(document.kind, document.id),
          leaseExpiresAt,
          change: { _tag: "Put", document, etag: etagOf(document) },
        })
        return Option.getOrThrow((yield* w.cache.inspect(document.kind, document.id)).intent)
      }),
    )

  it.effect(
    "an intent replaced by another writer's, or renewed, is gone: nothing done, nothing counted, logged gone",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        yield* TestClock.adjust("1 second")
        const theirs = yield* intentFor(w, versionOf(2), 0, "other")
        const stale = { ...theirs, writer: "dead" }
        const counted = yield* Effect.forEach(["rolled-forward", "dropped", "gone"], (o) =>
          count(CacheMetrics.intentsResolved, o),
        )
        const { value, lines } = yield* logsOf(
          Heal.resolve(w.cache, w.store, { kind: base.kind, id: base.id, intent: stale }, "reader"),
        )
        expect(value).toBe("gone")
        expect(lineOf(lines, "heal.resolve")?.fields).toMatchObject({ by: "reader", writer: "dead", outcome: "gone" })
        // Renewed by its writer: the lease the resolver saw has passed, the one in the cache has not.
        yield* intentFor(w, versionOf(2), 60_000, "other")
        expect(yield* Heal.resolve(w.cache, w.store, { kind: base.kind, id: base.id, intent: theirs }, "sweep")).toBe(
          "gone",
        )
        expect(Option.map((yield* inspect(w)).intent, (i) => [i.writer, i.leaseExpiresAt])).toEqual(
          Option.some(["other", 60_000]),
        )
        const after = yield* Effect.forEach(["rolled-forward", "dropped", "gone"], (o) =>
          count(CacheMetrics.intentsResolved, o),
        )
        expect(after).toEqual(counted)
      }),
  )

  it.effect(
    "meet commits for the writer a live intent S3 shows (counted), leaves one S3 does not show pending, and says none without one",
    () =>
      Effect.gen(function* () {
        const committed = yield* count(CacheMetrics.intentsResolved, "committed-for-writer")
        const w = yield* world()
        const v2 = versionOf(2)
        const seen = (document: Document.AnyDocument) => Option.some({ document, etag: etagOf(document), key: w.s3Key })
        expect(yield* Heal.meet(w.cache, w.store, base.kind, base.id, seen(v2), "event-sync")).toBe("none")
        yield* intentFor(w, v2, 60_000)
        expect(yield* Heal.meet(w.cache, w.store, base.kind, base.id, seen(versionOf(3)), "event-sync")).toBe("pending")
        expect(yield* Heal.meet(w.cache, w.store, base.kind, base.id, Option.none(), "event-sync")).toBe("pending")
        expect(yield* count(CacheMetrics.intentsResolved, "committed-for-writer")).toBe(committed)
        expect(yield* Heal.meet(w.cache, w.store, base.kind, base.id, seen(v2), "event-sync")).toBe("committed")
        const after = yield* inspect(w)
        expect([cachedOf(after.entry), after.intent]).toEqual([Option.some([2, etagOf(v2)]), Option.none()])
        expect(yield* count(CacheMetrics.intentsResolved, "committed-for-writer")).toBe(committed + 1)

        // A live delete intent: committed (a tombstone) when S3 has no object, pending while it has one.
        yield* Effect.orDie(
          w.cache.intend({
            kind: base.kind,
            id: base.id,
            writer: "deleter",
            s3Key: w.s3Key,
            leaseExpiresAt: 60_000,
            change: { _tag: "Delete" },
          }),
        )
        expect(yield* Heal.meet(w.cache, w.store, base.kind, base.id, seen(v2), "event-sync")).toBe("pending")
        expect(yield* Heal.meet(w.cache, w.store, base.kind, base.id, Option.none(), "event-sync")).toBe("committed")
        expect(cachedOf((yield* inspect(w)).entry)).toEqual(Option.some("Tombstone"))
      }),
  )

  it.effect(
    "a sweep resolves by: sweep, reports and logs what it did, and takes an intent expiring at its instant but not one a millisecond later",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        yield* TestClock.adjust("1 second")
        const landed = { ...versionOf(2), id: "CHG-sweep-2" }
        yield* Effect.orDie(w.store.put(landed))
        yield* intentFor(w, versionOf(2), 1_000)
        yield* intentFor(w, landed, 1_000)
        const live = { ...versionOf(2), id: "CHG-sweep-3" }
        yield* intentFor(w, live, 1_001)
        const progress: Array<Heal.SweepProgress> = []
        const { value, lines } = yield* logsOf(
          Heal.sweep({ onProgress: (p) => Effect.sync(() => progress.push(p)) }).pipe(
            Effect.provideService(DocumentCache.DocumentCache, w.cache),
            Effect.provideService(DocumentStore.DocumentStore, w.store),
          ),
        )
        expect(value).toEqual({ found: 2, rolledForward: 1, dropped: 1, gone: 0, failed: 0 })
        expect(progress.map((p) => [p.found, p.total])).toEqual([
          [0, 2],
          [1, 2],
          [2, 2],
        ])
        expect(progress.at(-1)).toEqual({ ...value, total: 2 })
        const resolved = linesOf(lines, "heal.resolve")
        expect(resolved.map((l) => [l.fields.key, l.fields.by, l.fields.outcome]).sort()).toEqual([
          [`${base.kind}/CHG-paths-1`, "sweep", "dropped"],
          [`${base.kind}/CHG-sweep-2`, "sweep", "rolled-forward"],
        ])
        const line = lineOf(lines, "heal.sweep")
        expect(line?.level).toBe("INFO")
        expect(line?.fields).toMatchObject({
          outcome: "ok",
          found: 2,
          rolledForward: 1,
          dropped: 1,
          gone: 0,
          failed: 0,
        })
        expect(Option.isSome((yield* Effect.orDie(w.cache.inspect(live.kind, live.id))).intent)).toBe(true)
      }),
  )

  it.effect("an intent expiring between the sweep's count and its pass raises the total: found never exceeds it", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* intentFor(w, versionOf(2), 0)
      const progress: Array<Heal.SweepProgress> = []
      const late = { ...versionOf(2), id: "CHG-sweep-late" }
      const report = yield* Heal.sweep({
        onProgress: (p) =>
          Effect.gen(function* () {
            progress.push(p)
            if (progress.length === 1) yield* intentFor(w, late, 0)
          }),
      }).pipe(
        Effect.provideService(DocumentCache.DocumentCache, w.cache),
        Effect.provideService(DocumentStore.DocumentStore, w.store),
      )
      expect(report).toEqual({ found: 2, rolledForward: 0, dropped: 2, gone: 0, failed: 0 })
      expect(progress.map((p) => [p.found, p.total])).toEqual([
        [0, 1],
        [1, 1],
        [2, 2],
      ])
    }),
  )

  it.effect("a sweep resolves four intents at once by default, `concurrency` of them when given", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (n) => intentFor(w, { ...versionOf(2), id: `CHG-sweep-${n}` }, 0))
      const inFlight = (concurrency: number | undefined) =>
        Effect.gen(function* () {
          let running = 0
          let most = 0
          const plan = yield* FaultInjection.healthy
          const store = FaultInjection.store(w.store, {
            plan,
            before: (call) =>
              call.operation === "HeadObject"
                ? Effect.gen(function* () {
                    running += 1
                    most = Math.max(most, running)
                    yield* Effect.sleep("10 millis")
                    running -= 1
                  })
                : Effect.void,
          })
          const fiber = yield* Effect.fork(
            Heal.sweep(concurrency === undefined ? {} : { concurrency }).pipe(
              Effect.provideService(DocumentCache.DocumentCache, w.cache),
              Effect.provideService(DocumentStore.DocumentStore, store),
            ),
          )
          yield* settle
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(fiber)
          return most
        })
      expect(yield* inFlight(undefined)).toBe(4)
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (n) => intentFor(w, { ...versionOf(2), id: `CHG-sweep-${n}` }, 0))
      // The first sweep dropped them all (nothing in S3): again, two at a time.
      expect(yield* inFlight(2)).toBe(2)
    }),
  )
})

describe("write path signals: refusals a caller tells apart", () => {
  it.effect(
    "a plain put on a key with an intent is refused naming the key, the operation and the no-intent condition",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        yield* foreignIntent(w, 60_000)
        const error = yield* Effect.flip(w.cache.put(versionOf(1), { s3Key: w.s3Key }))
        expect(error).toMatchObject({
          _tag: "ConditionFailedError",
          key,
          operation: "put",
          condition: DocumentCache.noIntentCondition,
        })
        expect(Heal.isIntentRefusal(error)).toBe(true)
        const other = new DocumentCache.ConditionFailedError({
          key,
          operation: "commit",
          condition: "intent of writer x",
        })
        expect(Heal.isIntentRefusal(other)).toBe(false)
        expect(Heal.isIntentRefusal({ condition: DocumentCache.noIntentCondition })).toBe(false)
      }),
  )
})

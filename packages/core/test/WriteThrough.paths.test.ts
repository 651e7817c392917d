/**
 * The write protocol's paths one at a time, on the memory layers and the
 * TestClock: the exact S3 conditions and deadlines a write and a delete send,
 * the lease renewal's every branch, the wait for (or the resolution of) another
 * writer's intent, every failure after the S3 call (the HEAD that follows, a
 * failed HEAD, clear or commit), the dry run's description, and the log lines
 * and counters an operator reads. The invariant 6/7 and liveness properties
 * reach most of these paths at random; these examples pin each one (the
 * mutation pass of issue #11 runs them first: docs/testing.md).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as CacheMetrics from "../src/CacheMetrics.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FaultInjection from "../src/FaultInjection.js"
import * as Heal from "../src/Heal.js"
import { logsOf } from "./support/Logs.js"
import {
  base,
  callsOf,
  count,
  etagOf,
  foreignIntent,
  inspect,
  key,
  meanwhile,
  settle,
  slow,
  versionOf,
  type World,
  world,
} from "./support/WriteWorld.js"

describe("WriteThrough paths: what S3 is sent", () => {
  it.effect(
    "a put over nothing or a tombstone is If-None-Match *, over a committed document If-Match its ETag; a delete If-Match the committed ETag, unconditional over nothing; each with the deadline one put budget (10 s) away, under a 15 s lease",
    () =>
      Effect.gen(function* () {
        const leases: Array<number> = []
        let cache: DocumentCache.Service | undefined
        const w = yield* world({
          before: (call) =>
            (call.operation === "PutObject" || call.operation === "DeleteObject") && cache !== undefined
              ? Effect.gen(function* () {
                  const intent = Option.getOrThrow((yield* Effect.orDie(cache!.inspect(base.kind, base.id))).intent)
                  leases.push(intent.leaseExpiresAt - (yield* TestClock.currentTimeMillis))
                })
              : Effect.void,
        })
        cache = w.cache
        const v1 = versionOf(1)
        const v2 = versionOf(2)
        expect((yield* w.writeThrough.write(v1))._tag).toBe("Written")
        yield* TestClock.adjust("1 second")
        expect((yield* w.writeThrough.write(v2))._tag).toBe("Written")
        yield* TestClock.adjust("1 second")
        expect((yield* w.writeThrough.delete(base.kind, base.id))._tag).toBe("Deleted")
        yield* TestClock.adjust("1 second")
        expect((yield* w.writeThrough.write(versionOf(3)))._tag).toBe("Written")
        expect(w.puts).toEqual([
          { ifNoneMatch: "*", deadline: 10_000 },
          { ifMatch: etagOf(v1), deadline: 11_000 },
          { ifNoneMatch: "*", deadline: 13_000 },
        ])
        expect(w.deletes).toEqual([{ ifMatch: etagOf(v2), deadline: 12_000 }])
        expect(leases).toEqual([15_000, 15_000, 15_000, 15_000])

        // Nothing cached: the delete has no ETag to match (the clock is where the writes above left it).
        const fresh = yield* world()
        expect((yield* fresh.writeThrough.delete(base.kind, base.id))._tag).toBe("Deleted")
        expect(fresh.deletes).toEqual([{ deadline: 13_000 }])
      }),
  )

  it.effect("a put budget as long as the lease is refused when the service is built; a shorter one is taken", () =>
    Effect.gen(function* () {
      const equal = yield* Effect.exit(world({ timing: { lease: "2 seconds", putBudget: "2 seconds" } }))
      expect(Exit.isFailure(equal) && String(equal.cause)).toContain("putBudget must be shorter than the lease")
      const shorter = yield* world({ timing: { lease: "2 seconds", putBudget: "1999 millis" } })
      expect((yield* shorter.writeThrough.write(versionOf(1)))._tag).toBe("Written")
      expect(shorter.puts).toEqual([{ ifNoneMatch: "*", deadline: 1999 }])
    }),
  )
})

describe("WriteThrough paths: the lease renewal before the S3 call", () => {
  it.effect("exactly one put budget of lease left is enough: no renewal, the deadline is the lease's end", () =>
    Effect.gen(function* () {
      const w = yield* slow("5 seconds", ["Timeout"])
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
      yield* TestClock.adjust("5 seconds")
      expect((yield* Fiber.join(fiber))._tag).toBe("Written")
      expect(yield* callsOf(w)).toEqual([
        "cache.intend:Timeout",
        "cache.intend:Ok",
        "store.PutObject:Ok",
        "cache.commit:Ok",
      ])
      expect(w.puts).toEqual([{ ifNoneMatch: "*", deadline: 15_000 }])
    }),
  )

  it.effect("a renewal moves the deadline to one budget from the renewal (within the new lease)", () =>
    Effect.gen(function* () {
      const w = yield* slow("6 seconds", ["Timeout"])
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
      yield* TestClock.adjust("6 seconds")
      expect((yield* Fiber.join(fiber))._tag).toBe("Written")
      expect(w.puts).toEqual([{ ifNoneMatch: "*", deadline: 16_000 }])
    }),
  )

  it.effect("a renewal that fails keeps the old lease: the put goes, cut off where that lease ends", () =>
    Effect.gen(function* () {
      const w = yield* slow("6 seconds", ["Timeout", "Ok", "Denied", "Denied"])
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
      yield* TestClock.adjust("6 seconds")
      expect((yield* Fiber.join(fiber))._tag).toBe("Written")
      expect(w.puts).toEqual([{ ifNoneMatch: "*", deadline: 15_000 }])
      expect((yield* inspect(w)).intent).toEqual(Option.none())
    }),
  )

  it.effect("a renewal that finds a newer version committed ends the write as stale, without an S3 call", () =>
    Effect.gen(function* () {
      const m = meanwhile((cache) => cache.put(versionOf(5), { s3Key: "elsewhere" }))
      const w = yield* slow("6 seconds", ["Timeout"], m.before)
      m.bind(w)
      const fiber = yield* Effect.fork(Effect.flip(w.writeThrough.write(versionOf(1))))
      yield* TestClock.adjust("6 seconds")
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "StaleWriteError", storedVersion: 5 })
      expect(w.puts).toEqual([])
    }),
  )

  it.effect("a renewal that finds our very document committed is Unchanged, without an S3 call", () =>
    Effect.gen(function* () {
      const m = meanwhile((cache) => cache.put(versionOf(1), { s3Key: "elsewhere" }))
      const w = yield* slow("6 seconds", ["Timeout"], m.before)
      m.bind(w)
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
      yield* TestClock.adjust("6 seconds")
      expect(yield* Fiber.join(fiber)).toEqual({ _tag: "Unchanged", key, s3Key: w.s3Key, version: 1 })
      expect(w.puts).toEqual([])
    }),
  )

  it.effect("a delete's renewal blocked by another writer is a Contention conflict of the delete", () =>
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
      const fiber = yield* Effect.fork(Effect.flip(w.writeThrough.delete(base.kind, base.id)))
      yield* TestClock.adjust("6 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({
        _tag: "WriteConflictError",
        reason: "Contention",
        operation: "delete",
        key,
        otherVersion: 7,
        otherWriter: "other",
        waitedMillis: 0,
      })
      expect(w.deletes).toEqual([])
    }),
  )
})

describe("WriteThrough paths: another writer's intent", () => {
  it.effect("an intent whose lease ends this very millisecond is resolved at once, and the write goes on", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* TestClock.adjust("1 second")
      yield* foreignIntent(w, 1_000)
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
      yield* settle
      const polled = yield* Fiber.poll(fiber)
      yield* Fiber.interrupt(fiber)
      expect(
        Option.map(
          polled,
          Exit.map((r) => r._tag),
        ),
      ).toEqual(Option.some(Exit.succeed("Written")))
    }),
  )

  it.effect("a resolution that fails waits like contention (a backoff on the clock), then the write goes on", () =>
    Effect.gen(function* () {
      const failed = yield* count(CacheMetrics.intentsResolved, "failed")
      const w = yield* world({ verdicts: ["Denied"], only: (c) => c.operation === "HeadObject" })
      yield* foreignIntent(w, 0)
      const fiber = yield* Effect.fork(w.writeThrough.write(versionOf(1)))
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("20 millis")
      expect((yield* Fiber.join(fiber))._tag).toBe("Written")
      expect(yield* count(CacheMetrics.intentsResolved, "failed")).toBe(failed + 1)
    }),
  )

  it.effect("a writer blocked past DOCKET_WRITE_WAIT names the other writer, its version and how long it waited", () =>
    Effect.gen(function* () {
      const w = yield* world({ settings: { writeWaitMillis: 500 } })
      yield* foreignIntent(w, 60_000, 4)
      const fiber = yield* Effect.fork(Effect.flip(w.writeThrough.write(versionOf(1))))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({
        _tag: "WriteConflictError",
        reason: "Contention",
        operation: "write",
        key,
        otherVersion: 4,
        otherWriter: "other",
      })
      expect(error._tag === "WriteConflictError" && error.waitedMillis).toBeGreaterThanOrEqual(500)
    }),
  )
})

describe("WriteThrough paths: after a failed S3 call", () => {
  // Plain fields, matched with toMatchObject: toEqual compares errors by their message alone.
  const storeError = (operation: string, s3Key: string) => ({
    _tag: "StoreError",
    reason: "AccessDenied",
    operation,
    key: s3Key,
    cause: "injected fault",
  })
  const storeErrorMessage = (operation: string, s3Key: string) =>
    new DocumentStore.StoreError({ reason: "AccessDenied", operation, key: s3Key, cause: "injected fault" }).message

  it.effect("a put whose answer was lost but that landed is committed (the HEAD finds our ETag)", () =>
    Effect.gen(function* () {
      const w = yield* world({ verdicts: ["Lost"], only: (c) => c.operation === "PutObject" })
      const result = yield* w.writeThrough.write(versionOf(1))
      expect(result).toMatchObject({ _tag: "Written", etag: etagOf(versionOf(1)), version: 1 })
      const after = yield* inspect(w)
      expect(Option.map(after.entry, (e) => e._tag === "Cached" && e.etag)).toEqual(Option.some(etagOf(versionOf(1))))
      expect(after.intent).toEqual(Option.none())
    }),
  )

  it.effect(
    "a refused put is RolledBack with its version, its intent cleared, counted and logged as a rollback of the write",
    () =>
      Effect.gen(function* () {
        const ok = yield* count(CacheMetrics.rollbacks, "ok")
        const w = yield* world({ verdicts: ["Denied"], only: (c) => c.operation === "PutObject" })
        const { value: result, lines } = yield* logsOf(w.writeThrough.write(versionOf(1)))
        expect(result).toEqual({
          _tag: "RolledBack",
          key,
          s3Key: w.s3Key,
          cause: expect.objectContaining(storeError("PutObject", w.s3Key)),
          rollback: "Restored",
          version: 1,
        })
        expect(yield* inspect(w)).toEqual({ entry: Option.none(), intent: Option.none() })
        expect(yield* count(CacheMetrics.rollbacks, "ok")).toBe(ok + 1)
        const rollback = lines.find((l) => l.fields.operation === "writeThrough.rollback")
        expect(rollback?.fields).toMatchObject({
          key,
          s3Key: w.s3Key,
          of: "write",
          cause: storeErrorMessage("PutObject", w.s3Key),
          rollback: "Restored",
        })
        const line = lines.find((l) => l.fields.operation === "writeThrough.write")
        expect(line?.fields).toMatchObject({
          key,
          s3Key: w.s3Key,
          version: 1,
          outcome: "RolledBack",
          rollback: "Restored",
          cause: storeErrorMessage("PutObject", w.s3Key),
        })
      }),
  )

  it.effect(
    "a refused put whose HEAD fails too leaves the intent: RollbackFailedError with both causes, counted for reconcile",
    () =>
      Effect.gen(function* () {
        const reconcile = yield* count(CacheMetrics.reconcileNeeded)
        const failed = yield* count(CacheMetrics.rollbacks, "failed")
        const w = yield* world({
          verdicts: ["Denied", "Denied"],
          only: (c) => c.operation === "PutObject" || c.operation === "HeadObject",
        })
        const error = yield* Effect.flip(w.writeThrough.write(versionOf(1)))
        expect(error).toMatchObject({
          _tag: "RollbackFailedError",
          operation: "write",
          key,
          s3Key: w.s3Key,
          cause: storeError("PutObject", w.s3Key),
          rollbackCause: storeError("HeadObject", w.s3Key),
        })
        expect(Option.isSome((yield* inspect(w)).intent)).toBe(true)
        expect(yield* count(CacheMetrics.reconcileNeeded)).toBe(reconcile + 1)
        expect(yield* count(CacheMetrics.rollbacks, "failed")).toBe(failed + 1)
      }),
  )

  it.effect("a refused put whose clear fails is a RollbackFailedError naming the clear's error", () =>
    Effect.gen(function* () {
      const w = yield* world({
        verdicts: ["Denied", "Denied"],
        only: (c) => c.operation === "PutObject" || c.operation === "clearIntent",
      })
      const { value: error, lines } = yield* logsOf(Effect.flip(w.writeThrough.write(versionOf(1))))
      expect(error).toMatchObject({
        _tag: "RollbackFailedError",
        operation: "write",
        key,
        s3Key: w.s3Key,
        cause: storeError("PutObject", w.s3Key),
        rollbackCause: {
          _tag: "CacheError",
          reason: "AccessDenied",
          operation: "clearIntent",
          key,
          cause: "injected fault",
        },
      })
      const rollback = lines.find((l) => l.fields.operation === "writeThrough.rollback")
      expect(rollback?.fields).toMatchObject({ key, of: "write", outcome: "RollbackFailedError" })
    }),
  )

  it.effect("a commit that fails after the put landed is a RollbackFailedError whose cause is the commit's error", () =>
    Effect.gen(function* () {
      const reconcile = yield* count(CacheMetrics.reconcileNeeded)
      const w = yield* world({ verdicts: ["Denied"], only: (c) => c.operation === "commit" })
      const error = yield* Effect.flip(w.writeThrough.write(versionOf(1)))
      const commitError = {
        _tag: "CacheError",
        reason: "AccessDenied",
        operation: "commit",
        key,
        cause: "injected fault",
      }
      expect(error).toMatchObject({
        _tag: "RollbackFailedError",
        operation: "write",
        key,
        s3Key: w.s3Key,
        cause: commitError,
        rollbackCause: commitError,
      })
      expect(yield* count(CacheMetrics.reconcileNeeded)).toBe(reconcile + 1)
      // The intent stays for resolution: S3 has our put.
      expect(Option.isSome((yield* inspect(w)).intent)).toBe(true)
    }),
  )

  it.effect("a delete whose answer was lost but that landed is committed: the HEAD finds no object", () =>
    Effect.gen(function* () {
      const w = yield* world({ verdicts: ["Lost"], only: (c) => c.operation === "DeleteObject" })
      expect((yield* w.writeThrough.write(versionOf(1)))._tag).toBe("Written")
      expect(yield* w.writeThrough.delete(base.kind, base.id)).toMatchObject({ _tag: "Deleted", key })
      const after = yield* inspect(w)
      expect([Option.map(after.entry, (e) => e._tag), after.intent]).toEqual([Option.some("Tombstone"), Option.none()])
    }),
  )

  it.effect("a refused delete is RolledBack without a version; its rollback is logged as the delete's", () =>
    Effect.gen(function* () {
      const w = yield* world({ verdicts: ["Denied"], only: (c) => c.operation === "DeleteObject" })
      expect((yield* w.writeThrough.write(versionOf(1)))._tag).toBe("Written")
      const { value: result, lines } = yield* logsOf(w.writeThrough.delete(base.kind, base.id))
      expect(result).toEqual({
        _tag: "RolledBack",
        key,
        s3Key: w.s3Key,
        cause: expect.objectContaining(storeError("DeleteObject", w.s3Key)),
        rollback: "Restored",
      })
      const rollback = lines.find((l) => l.fields.operation === "writeThrough.rollback")
      expect(rollback?.fields).toMatchObject({ key, s3Key: w.s3Key, of: "delete", rollback: "Restored" })
      const after = yield* inspect(w)
      expect([Option.map(after.entry, (e) => e._tag), after.intent]).toEqual([Option.some("Cached"), Option.none()])
    }),
  )

  it.effect("a refused delete whose HEAD fails too leaves the intent: RollbackFailedError of the delete", () =>
    Effect.gen(function* () {
      const w = yield* world({
        verdicts: ["Denied", "Denied"],
        only: (c) => c.operation === "DeleteObject" || c.operation === "HeadObject",
      })
      expect((yield* w.writeThrough.write(versionOf(1)))._tag).toBe("Written")
      const error = yield* Effect.flip(w.writeThrough.delete(base.kind, base.id))
      expect(error).toMatchObject({
        _tag: "RollbackFailedError",
        operation: "delete",
        key,
        s3Key: w.s3Key,
        cause: storeError("DeleteObject", w.s3Key),
        rollbackCause: storeError("HeadObject", w.s3Key),
      })
      expect(Option.isSome((yield* inspect(w)).intent)).toBe(true)
    }),
  )

  it.effect("a delete's commit that fails is a RollbackFailedError of the delete", () =>
    Effect.gen(function* () {
      const w = yield* world({ verdicts: ["Ok", "Denied"], only: (c) => c.operation === "commit" })
      expect((yield* w.writeThrough.write(versionOf(1)))._tag).toBe("Written")
      const error = yield* Effect.flip(w.writeThrough.delete(base.kind, base.id))
      expect(error).toMatchObject({ _tag: "RollbackFailedError", operation: "delete", key, s3Key: w.s3Key })
    }),
  )
})

describe("WriteThrough paths: dry run, cache off, log lines and counters", () => {
  it.effect("a dry run describes each step it would take, and touches nothing", () =>
    Effect.gen(function* () {
      const w = yield* world({ settings: { dryRun: true } })
      const put = (document: Document.AnyDocument) => w.writeThrough.write(document)
      const first = yield* logsOf(put(versionOf(3)))
      expect(first.lines.find((l) => l.fields.operation === "writeThrough.write")?.fields).toMatchObject({
        key,
        version: 3,
        dryRun: true,
        outcome: "DryRun",
      })
      expect(first.value).toEqual({
        _tag: "DryRun",
        key,
        s3Key: w.s3Key,
        version: 3,
        actions: [
          `record intent on cache ${key} for version 3 (committed: nothing)`,
          `put s3 ${w.s3Key} version 3`,
          `commit cache ${key} version 3; on S3 failure: clear the intent only`,
        ],
      })
      yield* Effect.orDie(w.cache.put(versionOf(2), { s3Key: w.s3Key }))
      const over = yield* put(versionOf(3))
      expect(over._tag === "DryRun" && over.actions[0]).toBe(
        `record intent on cache ${key} for version 3 (committed: version 2)`,
      )
      expect(yield* put(versionOf(2))).toEqual({
        _tag: "DryRun",
        key,
        s3Key: w.s3Key,
        version: 2,
        actions: ["nothing: unchanged"],
      })
      expect(yield* Effect.flip(put(versionOf(2, true)))).toMatchObject({
        _tag: "StaleWriteError",
        reason: "SameVersionDifferentContent",
      })
      expect(yield* Effect.flip(put(versionOf(1)))).toMatchObject({ _tag: "StaleWriteError", reason: "OlderVersion" })
      const { value: deleted, lines } = yield* logsOf(w.writeThrough.delete(base.kind, base.id))
      expect(deleted).toEqual({
        _tag: "DryRun",
        key,
        s3Key: w.s3Key,
        actions: [
          `record delete intent on cache ${key}`,
          `delete s3 ${w.s3Key}`,
          `commit a tombstone for ${key}; on S3 failure: clear the intent only`,
        ],
      })
      expect(lines.find((l) => l.fields.operation === "writeThrough.delete")?.fields).toMatchObject({
        key,
        s3Key: w.s3Key,
        dryRun: true,
        outcome: "DryRun",
      })
      expect(w.puts).toEqual([])
      expect(w.deletes).toEqual([])
      expect(Option.isSome(yield* w.store.head(w.s3Key))).toBe(false)
    }),
  )

  it.effect("a dry run with the cache off describes the S3 call alone and reads no cache", () =>
    Effect.gen(function* () {
      const w = yield* world({ settings: { dryRun: true, cacheEnabled: false } })
      expect(yield* w.writeThrough.write(versionOf(1))).toEqual({
        _tag: "DryRun",
        key,
        s3Key: w.s3Key,
        version: 1,
        actions: [`put s3 ${w.s3Key} version 1`],
      })
      const { value: deleted, lines } = yield* logsOf(w.writeThrough.delete(base.kind, base.id))
      expect(deleted).toEqual({ _tag: "DryRun", key, s3Key: w.s3Key, actions: [`delete s3 ${w.s3Key}`] })
      expect(lines.find((l) => l.fields.operation === "writeThrough.delete")?.fields).toMatchObject({
        cache: "off",
        dryRun: true,
      })
      expect(yield* w.plan.calls).toEqual([])
    }),
  )

  it.effect("cache off: the write and delete lines say so, and the results carry S3's ETag and no previous entry", () =>
    Effect.gen(function* () {
      const w = yield* world({ settings: { cacheEnabled: false } })
      const { value: written, lines } = yield* logsOf(w.writeThrough.write(versionOf(1)))
      expect(written).toEqual({
        _tag: "Written",
        key,
        s3Key: w.s3Key,
        version: 1,
        etag: etagOf(versionOf(1)),
        previous: Option.none(),
        repaired: false,
      })
      expect(lines.find((l) => l.fields.operation === "writeThrough.write")?.fields).toMatchObject({
        key,
        s3Key: w.s3Key,
        version: 1,
        cache: "off",
        outcome: "Written",
        etag: etagOf(versionOf(1)),
      })
      const deleted = yield* logsOf(w.writeThrough.delete(base.kind, base.id))
      expect(deleted.value).toEqual({ _tag: "Deleted", key, s3Key: w.s3Key, previous: Option.none() })
      const line = deleted.lines.find((l) => l.fields.operation === "writeThrough.delete")
      expect(line?.fields).toMatchObject({ key, s3Key: w.s3Key, cache: "off", outcome: "Deleted" })
    }),
  )

  it.effect(
    "with the cache on, the lines carry neither cache nor dryRun, and each outcome is counted by its name",
    () =>
      Effect.gen(function* () {
        const outcomes = ["written", "unchanged", "rolled-back", "stale", "conflict", "failed"] as const
        const before = yield* Effect.forEach(outcomes, (o) => count(CacheMetrics.writes, o))
        const w = yield* world({
          verdicts: ["Denied"],
          only: (c) => c.operation === "PutObject" && c.key.endsWith("CHG-rolled.json"),
          settings: { writeWaitMillis: 0 },
        })
        const { lines } = yield* logsOf(w.writeThrough.write(versionOf(2)))
        const line = lines.find((l) => l.fields.operation === "writeThrough.write")
        expect(line?.fields).toMatchObject({ key, version: 2, outcome: "Written" })
        expect(line?.fields).not.toHaveProperty("cache")
        expect(line?.fields).not.toHaveProperty("dryRun")
        yield* w.writeThrough.write(versionOf(2))
        yield* w.writeThrough.write({ ...versionOf(1), id: "CHG-rolled" })
        yield* Effect.flip(w.writeThrough.write(versionOf(1)))
        yield* foreignIntent(w, 60_000)
        yield* Effect.flip(w.writeThrough.write(versionOf(3)))
        const failing = yield* world({ verdicts: ["Denied"], only: (c) => c.operation === "intend" })
        yield* Effect.flip(failing.writeThrough.write(versionOf(1)))
        const after = yield* Effect.forEach(outcomes, (o) => count(CacheMetrics.writes, o))
        expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1, 1, 1, 1])
      }),
  )
})

describe("Heal paths: resolution", () => {
  /** A dead writer's intent for `document` (its put landed when `landed`), over `committed` in both ports. */
  const abandoned = (w: World, document: Document.AnyDocument, landed: boolean) =>
    Effect.gen(function* () {
      const now = yield* TestClock.currentTimeMillis
      yield* w.cache.intend({
        kind: base.kind,
        id: base.id,
        writer: "dead",
        s3Key: w.s3Key,
        leaseExpiresAt: now + 1_000,
        change: { _tag: "Put", document, etag: etagOf(document) },
      })
      if (landed) yield* w.store.put(document)
      return Option.getOrThrow((yield* w.cache.inspect(base.kind, base.id)).intent)
    }).pipe(Effect.orDie)
  const resolve = (w: World, intent: DocumentCache.Intent, store: DocumentStore.Service = w.store) =>
    Heal.resolve(w.cache, store, { kind: base.kind, id: base.id, intent }, "writer")
  const committedVersion = (w: World) =>
    Effect.map(inspect(w), (s) =>
      Option.getOrUndefined(Option.map(s.entry, (e) => e._tag === "Cached" && e.summary.version)),
    )

  it.effect("each resolution is one line naming the key, the resolver, the writer, the intent and its lease", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* Effect.orDie(w.writeThrough.write(versionOf(1)))
      const intent = yield* abandoned(w, versionOf(2), true)
      yield* TestClock.adjust("1 second")
      const { value, lines } = yield* logsOf(resolve(w, intent))
      expect(value).toBe("rolled-forward")
      const line = lines.find((l) => l.fields.operation === "heal.resolve")
      expect(line?.level).toBe("INFO")
      expect(line?.fields).toMatchObject({
        key,
        by: "writer",
        writer: "dead",
        intent: "put",
        version: 2,
        leaseExpiresAt: new Date(1_000).toISOString(),
        outcome: "rolled-forward",
      })
    }),
  )

  it.effect("a delete intent's line has no version; a resolution that fails is counted failed and fails", () =>
    Effect.gen(function* () {
      const failed = yield* count(CacheMetrics.intentsResolved, "failed")
      const w = yield* world({ verdicts: ["Denied"], only: (c) => c.operation === "HeadObject" })
      yield* Effect.orDie(
        w.cache.intend({
          kind: base.kind,
          id: base.id,
          writer: "dead",
          s3Key: w.s3Key,
          leaseExpiresAt: 0,
          change: { _tag: "Delete" },
        }),
      )
      const intent = Option.getOrThrow((yield* inspect(w)).intent)
      const faulty = FaultInjection.store(w.store, { plan: w.plan })
      const { value, lines } = yield* logsOf(Effect.either(resolve(w, intent, faulty)))
      expect(value._tag).toBe("Left")
      expect(yield* count(CacheMetrics.intentsResolved, "failed")).toBe(failed + 1)
      const line = lines.find((l) => l.fields.operation === "heal.resolve")
      expect(line?.fields).toMatchObject({ key, intent: "delete" })
      expect(line?.fields).not.toHaveProperty("version")
      expect(yield* resolve(w, intent)).toBe("rolled-forward")
    }),
  )

  it.effect("S3 changing between the HEAD and the GET: the intent is dropped to what S3 holds now", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* Effect.orDie(w.writeThrough.write(versionOf(1)))
      const intent = yield* abandoned(w, versionOf(2), true)
      yield* TestClock.adjust("1 second")
      let gets = 0
      const racing = FaultInjection.store(w.store, {
        plan: w.plan,
        before: (call) =>
          call.operation === "GetObject" && ++gets === 1
            ? Effect.asVoid(Effect.orDie(w.store.put(versionOf(3))))
            : Effect.void,
      })
      expect(yield* resolve(w, intent, racing)).toBe("dropped")
      expect(yield* committedVersion(w)).toBe(3)
      const entry = Option.getOrThrow((yield* inspect(w)).entry)
      expect(entry._tag === "Cached" && entry.etag).toBe(etagOf(versionOf(3)))
    }),
  )

  it.effect("S3's object deleted between the HEAD and the GET: the intent is cleared, the committed entry kept", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* Effect.orDie(w.writeThrough.write(versionOf(1)))
      const intent = yield* abandoned(w, versionOf(2), true)
      yield* TestClock.adjust("1 second")
      const racing = FaultInjection.store(w.store, {
        plan: w.plan,
        before: (call) =>
          call.operation === "GetObject" ? Effect.orDie(w.store.delete(base.kind, base.id)) : Effect.void,
      })
      expect(yield* resolve(w, intent, racing)).toBe("dropped")
      expect(yield* inspect(w)).toMatchObject({ intent: Option.none() })
      expect(yield* committedVersion(w)).toBe(1)
    }),
  )

  it.effect("an intent dropped over a tombstone with nothing in S3 only clears: the tombstone keeps its expiry", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* Effect.orDie(w.writeThrough.write(versionOf(1)))
      yield* Effect.orDie(w.writeThrough.delete(base.kind, base.id))
      const tombstone = Option.getOrThrow((yield* inspect(w)).entry)
      yield* TestClock.adjust("10 seconds")
      const intent = yield* abandoned(w, versionOf(2), false)
      yield* TestClock.adjust("1 second")
      const plan = yield* FaultInjection.healthy
      expect(yield* resolve(w, intent, FaultInjection.store(w.store, { plan }))).toBe("dropped")
      expect(yield* inspect(w)).toEqual({ entry: Option.some(tombstone), intent: Option.none() })
      // Nothing in S3: one HEAD, no GET.
      expect((yield* plan.calls).map((c) => c.operation)).toEqual(["HeadObject"])
    }),
  )

  it.effect("meet resolves an intent whose lease ends this very millisecond", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* Effect.orDie(w.writeThrough.write(versionOf(1)))
      yield* abandoned(w, versionOf(2), true)
      yield* TestClock.adjust("1 second")
      const met = yield* Heal.meet(w.cache, w.store, base.kind, base.id, Option.none(), "event-sync")
      expect(met).toBe("resolved")
      expect(yield* committedVersion(w)).toBe(2)
    }),
  )

  it.effect("a sweep counts what it met gone and failed, and logs its report", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* Effect.orDie(w.writeThrough.write(versionOf(1)))
      const intent = yield* abandoned(w, versionOf(2), false)
      yield* TestClock.adjust("1 second")
      // The first resolution's inspect finds the intent already resolved by someone else: gone.
      let inspects = 0
      const plan = yield* FaultInjection.healthy
      const cache = FaultInjection.cache(w.cache, {
        plan,
        before: (call) =>
          call.operation === "inspect" && ++inspects === 1
            ? Effect.orDie(w.cache.clearIntent(base.kind, base.id, intent.writer))
            : Effect.void,
      })
      const sweep = (store: DocumentStore.Service, c: DocumentCache.Service) =>
        logsOf(
          Heal.sweep().pipe(
            Effect.provideService(DocumentCache.DocumentCache, c),
            Effect.provideService(DocumentStore.DocumentStore, store),
          ),
        )
      const goneCount = yield* count(CacheMetrics.intentsResolved, "gone")
      const gone = yield* sweep(w.store, cache)
      expect(gone.value).toEqual({ found: 1, rolledForward: 0, dropped: 0, gone: 1, failed: 0 })
      // An intent found gone was resolved by nobody here: not counted.
      expect(yield* count(CacheMetrics.intentsResolved, "gone")).toBe(goneCount)
      const line = gone.lines.find((l) => l.fields.operation === "heal.sweep")
      expect(line?.fields).toMatchObject({ outcome: "ok", found: 1, gone: 1 })

      yield* abandoned(w, versionOf(2), false)
      yield* TestClock.adjust("1 second")
      const denied = yield* FaultInjection.plan(["Denied"], { only: (c) => c.operation === "HeadObject" })
      const failing = yield* sweep(FaultInjection.store(w.store, { plan: denied }), w.cache)
      expect(failing.value).toEqual({ found: 1, rolledForward: 0, dropped: 0, gone: 0, failed: 1 })
    }),
  )
})

/**
 * Reconcile's paths the mutation passes over reconcile (issue #11) listed as "not
 * reached on the memory layers", reached here by fault injection: the cache entry
 * deleted or tombstoned between the Scan and the `get` that reads it (a writer
 * landing in between, through `FaultInjection.cache`'s `before` hook), an entry
 * that holds a pointer instead of its body (what the DynamoDB backend returns for a
 * body over the item limit; `Reconcile.local.test.ts` makes a real one), and the
 * temporary sort files failing. Memory layers, TestClock; behaviour only.
 */
import * as Docket from "@docket/core/Docket"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as FaultInjection from "@docket/core/FaultInjection"
import * as Reconcile from "@docket/core/Reconcile"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { change, NOW } from "./support/Reconcile.js"

const run = <A, E>(self: Effect.Effect<A, E, Docket.Services>) =>
  TestClock.setTime(NOW).pipe(Effect.zipRight(self), Effect.provide(Docket.layerMemory()))

/** S3 holds `s3`, the cache `cached` (another ETag: the row is compared by body). */
const differing = (s3: Document.AnyDocument, cached: Document.AnyDocument) =>
  Effect.gen(function* () {
    const store = yield* DocumentStore.DocumentStore
    const cache = yield* DocumentCache.DocumentCache
    const { key } = yield* store.put(s3)
    yield* cache.put(cached, { s3Key: key, etag: '"an-older-etag"' })
    return key
  })

/** The cache with `write` run once, just before its first `get` (after the Scan saw the entry). */
const beforeFirstGet = (write: (cache: DocumentCache.Service) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    const plan = yield* FaultInjection.healthy
    let done = false
    return FaultInjection.cache(cache, {
      plan,
      before: (call) =>
        call.operation !== "get" || done
          ? Effect.void
          : Effect.suspend(() => {
              done = true
              return Effect.orDie(Effect.asVoid(write(cache)))
            }),
    })
  })

const entryOf = (kind: string, id: string) =>
  Effect.flatMap(DocumentCache.DocumentCache, (cache) =>
    Effect.map(cache.get(kind, id, { includeExpired: true }), (e) =>
      Option.map(e, (entry) => (entry._tag === "Cached" ? entry.summary.version : "tombstone")),
    ),
  )

/** The cache as the DynamoDB backend answers for pointer items: every entry's `get` without its body. */
const pointers = Effect.map(
  DocumentCache.DocumentCache,
  (cache): DocumentCache.Service => ({
    ...cache,
    get: (kind, id, options) =>
      Effect.map(
        cache.get(kind, id, options),
        Option.map((entry) => (entry._tag === "Cached" ? { ...entry, document: undefined } : entry)),
      ),
  }),
)

describe("Reconcile under faults", () => {
  it.effect("an entry deleted between the Scan and its read is missing drift, put back from S3 with --fix", () =>
    run(
      Effect.gen(function* () {
        const key = yield* differing(change("CHG-gone", 2), change("CHG-gone", 1))
        const racing = yield* beforeFirstGet((cache) => cache.delete("change", "CHG-gone"))
        const report = yield* Reconcile.run({ fix: true }).pipe(
          Effect.provideService(DocumentCache.DocumentCache, racing),
        )
        expect(report.drift).toStrictEqual([
          {
            kind: "change",
            id: "CHG-gone",
            key,
            type: "missing",
            detail: "S3 has version 2; the cache has a tombstone",
            repair: { outcome: "fixed" },
          },
        ])
        expect(yield* entryOf("change", "CHG-gone")).toStrictEqual(Option.some(2))
      }),
    ),
  )

  it.effect("an entry tombstoned between the Scan and its read is missing drift, put over the tombstone", () =>
    run(
      Effect.gen(function* () {
        const key = yield* differing(change("CHG-tomb", 2), change("CHG-tomb", 1))
        const racing = yield* beforeFirstGet((cache) => cache.tombstone("change", "CHG-tomb", { ttlSeconds: 600 }))
        const found = yield* Reconcile.run().pipe(Effect.provideService(DocumentCache.DocumentCache, racing))
        expect(found.drift).toStrictEqual([
          {
            kind: "change",
            id: "CHG-tomb",
            key,
            type: "missing",
            detail: "S3 has version 2; the cache has a tombstone",
          },
        ])
        expect(yield* entryOf("change", "CHG-tomb")).toStrictEqual(Option.some("tombstone"))
        const fixed = yield* Reconcile.run({ fix: true })
        expect(fixed.counts.missing).toBe(1)
        expect(yield* entryOf("change", "CHG-tomb")).toStrictEqual(Option.some(2))
      }),
    ),
  )

  it.effect("a pointer entry (no body) compares by version: the same version is no drift, another is stale", () =>
    run(
      Effect.gen(function* () {
        // Same version, other content: only a body could tell, and a pointer entry has none.
        yield* differing(change("CHG-ptr-same", 3, "in S3"), change("CHG-ptr-same", 3, "cached"))
        const staleKey = yield* differing(change("CHG-ptr-old", 4), change("CHG-ptr-old", 2))
        const cache = yield* pointers
        const report = yield* Reconcile.run({ fix: true }).pipe(
          Effect.provideService(DocumentCache.DocumentCache, cache),
        )
        expect(report.bodiesRead).toBe(2)
        expect(report.drift).toStrictEqual([
          {
            kind: "change",
            id: "CHG-ptr-old",
            key: staleKey,
            type: "stale",
            detail: "cache has version 2, S3 has version 4",
            repair: { outcome: "fixed" },
          },
        ])
        expect(yield* entryOf("change", "CHG-ptr-old")).toStrictEqual(Option.some(4))
        expect(yield* entryOf("change", "CHG-ptr-same")).toStrictEqual(Option.some(3))
      }),
    ),
  )

  it.effect("the temporary sort files failing fails the run with a typed SortFailed and the cause's text", () =>
    run(
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        yield* store.put(change("CHG-s1", 1))
        yield* store.put(change("CHG-s2", 1))
        // runSize 1: the first document spills a run, into a temporary directory that cannot be made.
        const saved = process.env.TMPDIR
        const error = yield* Effect.acquireUseRelease(
          Effect.sync(() => {
            process.env.TMPDIR = "/nonexistent/docket-sort-test"
          }),
          () => Effect.flip(Reconcile.run({ runSize: 1 })),
          () =>
            Effect.sync(() => {
              if (saved === undefined) delete process.env.TMPDIR
              else process.env.TMPDIR = saved
            }),
        )
        expect(error).toMatchObject({ _tag: "ReconcileError", reason: "SortFailed" })
        expect(error.detail).toMatch(/^Sorting to temporary files failed: ENOENT/)
        expect(error.cause).toBeInstanceOf(Error)
      }),
    ),
  )

  it.effect("an entry that expires between the join's start and its read is still compared: stale, not missing", () =>
    run(
      Effect.gen(function* () {
        const key = yield* differing(change("CHG-late", 2), change("CHG-late", 1))
        // Past the entry's retention (its time plus 365 days), after the join took its `now`.
        const racing = yield* beforeFirstGet(() => TestClock.setTime(Date.parse("2028-06-01T00:00:00Z")))
        const report = yield* Reconcile.run().pipe(Effect.provideService(DocumentCache.DocumentCache, racing))
        expect(report.drift).toStrictEqual([
          { kind: "change", id: "CHG-late", key, type: "stale", detail: "cache has version 1, S3 has version 2" },
        ])
      }),
    ),
  )

  it.effect("a tombstone row is missing drift from one body read, and is not counted as compared", () =>
    run(
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        yield* store.put(change("CHG-t", 1))
        yield* cache.tombstone("change", "CHG-t", { ttlSeconds: 600 })
        const report = yield* Reconcile.run()
        expect(report.counts.missing).toBe(1)
        expect([report.documents, report.compared, report.bodiesRead]).toStrictEqual([1, 0, 1])
      }),
    ),
  )

  it("normaliseEtag drops the quotes and a leading weak marker only, and keeps undefined", () => {
    expect(Reconcile.normaliseEtag('W/"abc"')).toBe("abc")
    expect(Reconcile.normaliseEtag('"abc"')).toBe("abc")
    expect(Reconcile.normaliseEtag('"aW/b"')).toBe("aW/b")
    expect(Reconcile.normaliseEtag(undefined)).toBeUndefined()
  })
})

/**
 * Reconcile's paths the drift properties do not reach (issue #11, the mutation pass
 * over reconcile): repairs racing a write (refused by their conditions, reported
 * failed), expired entries, tombstones, unreadable objects, a document under two
 * keys, the report's limits, order and timing, the run's failures, its progress
 * throttle and its log lines. Memory layers, TestClock; behaviour only.
 */
import * as Docket from "@docket/core/Docket"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as Reconcile from "@docket/core/Reconcile"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { logsOf } from "./support/Logs.js"
import { change, NOW } from "./support/Reconcile.js"

/** After every test document's retention (its time plus 365 days). */
const LATER = Date.parse("2028-06-01T00:00:00Z")

const services = Effect.all({
  store: Effect.map(DocumentStore.DocumentStore, (s) => s as DocumentStore.MemoryStore),
  cache: DocumentCache.DocumentCache,
})

/** Both sides hold `doc` (as a put through Docket leaves them). */
const inSync = (doc: Document.AnyDocument) =>
  Effect.gen(function* () {
    const { store, cache } = yield* services
    const { key, etag } = yield* store.put(doc)
    yield* cache.put(doc, { s3Key: key, etag })
    return key
  })

const versionIn = (kind: string, id: string) =>
  Effect.flatMap(DocumentCache.DocumentCache, (cache) =>
    Effect.map(cache.get(kind, id, { includeExpired: true }), (e) =>
      Option.map(e, (entry) => (entry._tag === "Cached" ? entry.summary.version : "tombstone")),
    ),
  )

/** The store with `onRead` run after each body read and `onHead` after each HEAD. */
const hooked = (
  store: DocumentStore.Service,
  hooks: {
    readonly onRead?: (key: string) => Effect.Effect<void>
    readonly onHead?: (key: string) => Effect.Effect<void>
  },
): DocumentStore.Service => ({
  ...store,
  getKey: (key) => Effect.tap(store.getKey(key), () => hooks.onRead?.(key) ?? Effect.void),
  head: (key) => Effect.tap(store.head(key), () => hooks.onHead?.(key) ?? Effect.void),
})

/** The cache with `write` run once, right after its first `get` (a writer landing then). */
const once = (cache: DocumentCache.Service, write: () => Effect.Effect<unknown, unknown>): DocumentCache.Service => {
  let done = false
  return {
    ...cache,
    get: (kind, id, options) =>
      Effect.tap(cache.get(kind, id, options), () =>
        done
          ? Effect.void
          : Effect.suspend(() => {
              done = true
              return Effect.orDie(write())
            }),
      ),
  }
}

const run = <A, E>(self: Effect.Effect<A, E, Docket.Services>, settings = {}) =>
  TestClock.setTime(NOW).pipe(Effect.zipRight(self), Effect.provide(Docket.layerMemory(settings)))

describe("Reconcile paths", () => {
  it.effect("a stale repair racing a write is refused by its version condition: reported failed, the write kept", () =>
    run(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        const v1 = change("CHG-race-1", 1)
        const key = yield* inSync(v1)
        yield* store.put({ ...v1, version: 2 })
        // Between reconcile's read of the cache entry (v1) and its repair, a writer puts v3 (S3, then the cache).
        const v3 = { ...v1, version: 3 }
        const racing = once(cache, () =>
          Effect.flatMap(store.put(v3), ({ etag }) => cache.put(v3, { s3Key: key, etag })),
        )
        const report = yield* Reconcile.run({ fix: true }).pipe(
          Effect.provideService(DocumentCache.DocumentCache, racing),
        )
        expect(report.drift).toMatchObject([
          { type: "stale", key, detail: "cache has version 1, S3 has version 2", repair: { outcome: "failed" } },
        ])
        expect(report).toMatchObject({ fixed: 0, fixFailed: 1 })
        expect(Reconcile.allFixed(report)).toBe(false)
        expect(yield* versionIn(v1.kind, v1.id)).toStrictEqual(Option.some(3))
      }),
    ),
  )

  it.effect(
    "a missing repair racing a write is refused (the cache held nothing: Absent); over a tombstone it is not",
    () =>
      run(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          const a = change("CHG-race-a", 1)
          const keyA = (yield* store.put(a)).key
          let raced = false
          const racing = hooked(store, {
            onRead: (key) =>
              key === keyA && !raced
                ? Effect.suspend(() => {
                    raced = true
                    const a2 = { ...a, version: 2 }
                    return Effect.asVoid(
                      Effect.orDie(Effect.flatMap(store.put(a2), ({ etag }) => cache.put(a2, { s3Key: keyA, etag }))),
                    )
                  })
                : Effect.void,
          })
          const report = yield* Reconcile.run({ fix: true }).pipe(
            Effect.provideService(DocumentStore.DocumentStore, racing),
          )
          expect(report.drift).toMatchObject([
            {
              type: "missing",
              key: keyA,
              detail: "S3 has version 1; the cache has no document",
              repair: { outcome: "failed" },
            },
          ])
          expect(yield* versionIn(a.kind, a.id)).toStrictEqual(Option.some(2))

          // The cache holds a tombstone (a delete), S3 the document again: missing, repaired over the tombstone.
          const b = change("CHG-tomb-b", 4)
          const keyB = (yield* store.put(b)).key
          yield* cache.tombstone(b.kind, b.id, { ttlSeconds: 600 })
          const again = yield* Reconcile.run({ fix: true })
          expect(again.drift).toMatchObject([
            {
              type: "missing",
              key: keyB,
              detail: "S3 has version 4; the cache has a tombstone",
              repair: { outcome: "fixed" },
            },
          ])
          expect(yield* versionIn(b.kind, b.id)).toStrictEqual(Option.some(4))
        }),
      ),
  )

  it.effect(
    "an orphan is confirmed by a HEAD: an object the listing missed is left alone; a delete racing a write is refused",
    () =>
      run(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          const listed = change("CHG-listed", 1)
          const unlisted = change("CHG-unlisted", 1)
          yield* inSync(listed)
          const unlistedKey = yield* inSync(unlisted)
          // A listing taken before the unlisted object was written: the HEAD finds it, no drift, no delete.
          const stale = {
            kind: "listing" as const,
            objects: Stream.filter(store.list(), (info) => info.key !== unlistedKey),
          }
          const report = yield* Reconcile.run({ fix: true, source: stale })
          expect(report.drift).toStrictEqual([])
          expect(report).toMatchObject({ objects: 1, cacheEntries: 2 })
          expect(yield* versionIn(unlisted.kind, unlisted.id)).toStrictEqual(Option.some(1))

          // S3 lost the object, but a writer puts v2 between the HEAD and the delete: the delete is refused.
          yield* store.delete(unlisted.kind, unlisted.id)
          const racing = hooked(store, {
            onHead: () => Effect.asVoid(Effect.orDie(cache.put({ ...unlisted, version: 2 }, { s3Key: unlistedKey }))),
          })
          const raced = yield* Reconcile.run({ fix: true }).pipe(
            Effect.provideService(DocumentStore.DocumentStore, racing),
          )
          expect(raced.drift).toMatchObject([
            {
              type: "orphaned",
              key: unlistedKey,
              detail: "cached version 1 has no object in S3",
              repair: { outcome: "failed" },
            },
          ])
          expect(yield* versionIn(unlisted.kind, unlisted.id)).toStrictEqual(Option.some(2))
          // Without the race: deleted.
          const fixed = yield* Reconcile.run({ fix: true })
          expect(fixed.drift).toMatchObject([{ type: "orphaned", repair: { outcome: "fixed" } }])
          expect(yield* versionIn(unlisted.kind, unlisted.id)).toStrictEqual(Option.none())
        }),
      ),
  )

  it.effect(
    "entries past their retention are expired drift, with or without the object in S3, and --fix deletes them",
    () =>
      run(
        Effect.gen(function* () {
          const { store } = yield* services
          const kept = change("CHG-exp-kept", 2)
          const gone = change("CHG-exp-gone", 3)
          const keptKey = yield* inSync(kept)
          const goneKey = yield* inSync(gone)
          yield* store.delete(gone.kind, gone.id)
          yield* TestClock.setTime(LATER)
          const report = yield* Reconcile.run()
          expect(report.drift.map((d) => [d.type, d.key, d.detail])).toStrictEqual([
            ["expired", goneKey, "cached version 3 is expired and S3 has no object"],
            ["expired", keptKey, "cached version 2 expired at 2027-11-30T22:00:00.000Z"],
          ])
          expect(report.counts).toMatchObject({ expired: 2, orphaned: 0, stale: 0 })
          expect(report).toMatchObject({ documents: 1, compared: 0 })
          const fixed = yield* Reconcile.run({ fix: true })
          expect(fixed).toMatchObject({ fixed: 2, fixFailed: 0 })
          expect(yield* versionIn(kept.kind, kept.id)).toStrictEqual(Option.none())
          expect(yield* versionIn(gone.kind, gone.id)).toStrictEqual(Option.none())
          // The object still in S3 is now missing from the cache (reads ignored the expired entry anyway).
          expect((yield* Reconcile.run()).counts.missing).toBe(1)
        }),
      ),
  )

  it.effect(
    "an object that does not decode is unreadable (never repaired); a failed read says it could not compare",
    () =>
      run(
        Effect.gen(function* () {
          const { store } = yield* services
          yield* store.putRaw("changes/CHG-junk.json", "{")
          const ok = change("CHG-ok", 1)
          const okKey = (yield* store.put(ok)).key
          const failing: DocumentStore.Service = {
            ...store,
            getKey: (key) =>
              key === okKey
                ? Effect.fail(new DocumentStore.StoreError({ reason: "Unavailable", operation: "GetObject", key }))
                : store.getKey(key),
          }
          const report = yield* Reconcile.run({ fix: true }).pipe(
            Effect.provideService(DocumentStore.DocumentStore, failing),
          )
          expect(report.drift.map((d) => [d.type, d.key, d.repair])).toStrictEqual([
            ["unreadable", "changes/CHG-junk.json", undefined],
            ["unreadable", okKey, undefined],
          ])
          expect(report.drift[0]?.detail).toContain("malformed JSON")
          expect(report.drift[0]?.detail).not.toMatch(/^could not compare/)
          expect(report.drift[1]?.detail).toMatch(/^could not compare: /)
          expect(report).toMatchObject({ fixed: 0, fixFailed: 0, counts: { unreadable: 2 } })
          expect(Reconcile.allFixed(report)).toBe(false)
          expect(Reconcile.hasDrift(report)).toBe(true)
        }),
      ),
  )

  it.effect("a document under two keys is compared with the object the cache points at", () =>
    run(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        const doc = change("CHG-twice", 2)
        const under = "customers/acme/changes/CHG-twice.json"
        yield* store.putRaw(under, JSON.stringify(doc))
        // The other key holds other content (another ETag).
        yield* store.putRaw("changes/CHG-twice.json", JSON.stringify({ ...doc, title: "other" }))
        const head = Option.getOrThrow(yield* store.head(under))
        yield* cache.put(doc, { s3Key: under, etag: head.etag })
        // S3's key order is not the documents' order: customers/acme/changes/CHG-a0 lists after changes/CHG-b.
        yield* inSync(change("CHG-b", 1))
        const a0 = "customers/acme/changes/CHG-a0.json"
        yield* store.putRaw(a0, JSON.stringify(change("CHG-a0", 1)))
        yield* cache.put(change("CHG-a0", 1), { s3Key: a0, etag: Option.getOrThrow(yield* store.head(a0)).etag })
        const report = yield* Reconcile.run()
        expect(report.drift).toStrictEqual([])
        expect(report).toMatchObject({ objects: 4, documents: 3, compared: 3, bodiesRead: 0 })
      }),
    ),
  )

  it.effect(
    "other ETags over the same content cost one body read and are no drift; a same-version rewrite is stale",
    () =>
      run(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          const same = change("CHG-same", 1)
          const sameKey = (yield* store.put(same)).key
          yield* cache.put(same, { s3Key: sameKey, etag: "an-older-etag" })
          const noEtag = change("CHG-noetag", 1)
          const noEtagKey = (yield* store.put(noEtag)).key
          yield* cache.put(noEtag, { s3Key: noEtagKey })
          const rewritten = change("CHG-rewritten", 5)
          const rewrittenKey = yield* inSync(rewritten)
          yield* store.putRaw(rewrittenKey, JSON.stringify({ ...rewritten, title: "rewritten" }))
          const report = yield* Reconcile.run({ fix: true })
          expect(report.drift.map((d) => [d.type, d.key, d.detail])).toStrictEqual([
            ["stale", rewrittenKey, "cache and S3 both have version 5 with different content"],
          ])
          expect(report).toMatchObject({ documents: 3, compared: 3, bodiesRead: 3, fixed: 1 })
          const entry = yield* cache.get(rewritten.kind, rewritten.id)
          expect(Option.getOrThrow(entry)).toMatchObject({ _tag: "Cached", document: { title: "rewritten" } })
        }),
      ),
  )

  it.effect("the report keeps at most maxDriftReported drifts, by type then key, and says it was truncated", () =>
    run(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        for (const id of ["CHG-m3", "CHG-m1", "CHG-m2"]) yield* store.put(change(id, 1))
        const orphan = change("CHG-a1", 1)
        yield* cache.put(orphan, { s3Key: "changes/CHG-a1.json" })
        // The first document's read ends after the others' (or after 1,000 yields, should they
        // not run at once): drift is found out of order, and reported sorted.
        const othersRead = yield* Deferred.make<void>()
        let others = 0
        const slow: DocumentStore.Service = {
          ...store,
          getKey: (key) =>
            key.includes("CHG-m1")
              ? Effect.zipRight(
                  Effect.raceFirst(Deferred.await(othersRead), Effect.repeatN(Effect.yieldNow(), 1000)),
                  store.getKey(key),
                )
              : Effect.tap(store.getKey(key), () => {
                  others += 1
                  return others === 2 ? Deferred.succeed(othersRead, undefined) : Effect.void
                }),
        }
        const all = yield* Reconcile.run().pipe(Effect.provideService(DocumentStore.DocumentStore, slow))
        expect(all.drift.map((d) => `${d.type} ${d.id}`)).toStrictEqual([
          "missing CHG-m1",
          "missing CHG-m2",
          "missing CHG-m3",
          "orphaned CHG-a1",
        ])
        expect(all.driftTruncated).toBe(false)
        const two = yield* Reconcile.run({ maxDriftReported: 2 })
        expect(two.drift).toHaveLength(2)
        expect(two).toMatchObject({ driftTruncated: true, counts: { missing: 3, orphaned: 1 } })
        const none = yield* Reconcile.run({ maxDriftReported: -5 })
        expect(none).toMatchObject({ drift: [], driftTruncated: true })
        expect(Reconcile.hasDrift(none)).toBe(true)
      }),
    ),
  )

  it.effect(
    "the report: its source, segments (at least one), duration from the clock; fix is off in a configured dry run",
    () =>
      run(
        Effect.gen(function* () {
          const { store } = yield* services
          yield* store.put(change("CHG-r1", 1))
          const report = yield* Reconcile.run({ segments: 0 })
          expect(report).toMatchObject({
            source: "listing",
            segments: 1,
            durationMs: 0,
            orphanCheck: "scan",
            fix: false,
          })
          expect((yield* Reconcile.run()).segments).toBe(Reconcile.defaultSegments)
          const inventory = yield* Reconcile.run({ source: { kind: "inventory", objects: store.list() } })
          expect(inventory).toMatchObject({ source: "inventory", objects: 1, counts: { missing: 1 } })
        }),
      ).pipe(
        Effect.zipRight(
          run(
            Effect.gen(function* () {
              const { store } = yield* services
              yield* store.put(change("CHG-dry", 1))
              const report = yield* Reconcile.run({ fix: true })
              expect(report).toMatchObject({ fix: false, fixed: 0, counts: { missing: 1 } })
              expect(report.drift[0]?.repair).toBeUndefined()
              expect(yield* versionIn("change", "CHG-dry")).toStrictEqual(Option.none())
            }),
            { dryRun: true },
          ),
        ),
      ),
  )

  it.effect("the listing or the Scan failing fails the run with a typed error", () =>
    run(
      Effect.gen(function* () {
        const { cache } = yield* services
        const listing = yield* Effect.flip(
          Reconcile.run({ source: { kind: "listing", objects: Stream.fail(new Error("no listing")) } }),
        )
        expect(listing).toMatchObject({ _tag: "ReconcileError", reason: "ListingFailed" })
        expect(listing.detail).toBe("Listing S3 failed: no listing")
        const text = yield* Effect.flip(
          Reconcile.run({ source: { kind: "listing", objects: Stream.fail("access denied") } }),
        )
        expect(text.detail).toBe("Listing S3 failed: access denied")
        const broken: DocumentCache.Service = {
          ...cache,
          scan: () => Stream.fail(new DocumentCache.CacheError({ reason: "Unavailable", operation: "scan", key: "*" })),
        }
        const scan = yield* Effect.flip(
          Reconcile.run().pipe(Effect.provideService(DocumentCache.DocumentCache, broken)),
        )
        expect(scan).toMatchObject({ _tag: "ReconcileError", reason: "ScanFailed" })
        expect(scan.message).toContain("Scanning the cache failed")
      }),
    ),
  )

  it.effect("a HEAD that fails never confirms an orphan: reported unreadable, left alone with --fix", () =>
    run(
      Effect.gen(function* () {
        const { store } = yield* services
        const gone = change("CHG-orphan-head", 1)
        const key = yield* inSync(gone)
        yield* store.delete(gone.kind, gone.id)
        const failing: DocumentStore.Service = {
          ...store,
          head: (k) =>
            Effect.fail(new DocumentStore.StoreError({ reason: "Unavailable", operation: "HeadObject", key: k })),
        }
        const report = yield* Reconcile.run({ fix: true }).pipe(
          Effect.provideService(DocumentStore.DocumentStore, failing),
        )
        expect(report.counts).toMatchObject({ orphaned: 0, expired: 0, unreadable: 1 })
        expect(report.drift).toMatchObject([{ type: "unreadable", key, kind: "change", id: "CHG-orphan-head" }])
        expect(report.drift[0]?.detail).toContain("HEAD that would confirm the orphan failed")
        expect(report.drift[0]?.repair).toBeUndefined()
        expect(report).toMatchObject({ fixed: 0 })
        expect(Reconcile.allFixed(report)).toBe(false)
        expect(yield* versionIn(gone.kind, gone.id)).toStrictEqual(Option.some(1))
        // With S3 answering, the same entry is the orphan it is, and --fix deletes it.
        const again = yield* Reconcile.run({ fix: true })
        expect(again.drift).toMatchObject([{ type: "orphaned", key, repair: { outcome: "fixed" } }])
      }),
    ),
  )

  it.effect(
    "progress is reported at most every progressEveryMs (the clock does not move here), and at each phase",
    () =>
      run(
        Effect.gen(function* () {
          const { store } = yield* services
          for (const id of ["CHG-p1", "CHG-p2", "CHG-p3"]) yield* store.put(change(id, 1))
          const seen: Array<Reconcile.Progress> = []
          yield* Reconcile.run({ onProgress: (p) => Effect.sync(() => void seen.push(p)) })
          // The first tick while reading, then the forced ones: both sides read, comparing, done.
          expect(seen.map((p) => [p.phase, p.done, p.total, p.elapsedMs])).toStrictEqual([
            ["reading", 3, undefined, 0],
            ["reading", 3, undefined, 0],
            ["comparing", 3, 6, 0],
            ["comparing", 6, 6, 0],
          ])
          expect(seen.at(-1)).toMatchObject({ objects: 3, cacheEntries: 0, drift: 3, bodiesRead: 3 })
        }),
      ),
  )

  it.effect("one log line per run (clean or drift, with its counts) and one per repair", () =>
    run(
      Effect.gen(function* () {
        const { store } = yield* services
        yield* inSync(change("CHG-l1", 1))
        const clean = yield* logsOf(Reconcile.run())
        expect(clean.lines.filter((l) => l.fields.operation === "reconcile")).toMatchObject([
          {
            level: "INFO",
            message: "reconcile",
            fields: { outcome: "clean", objects: 1, documents: 1, compared: 1, missing: 0, fixed: 0 },
          },
        ])
        const missing = (yield* store.put(change("CHG-l2", 1))).key
        const fixed = yield* logsOf(Reconcile.run({ fix: true }))
        expect(fixed.lines.filter((l) => l.fields.operation === "reconcile.repair")).toMatchObject([
          { level: "INFO", message: "reconcile.repair", fields: { type: "missing", key: missing, outcome: "fixed" } },
        ])
        expect(fixed.lines.filter((l) => l.fields.operation === "reconcile")).toMatchObject([
          { fields: { outcome: "drift", missing: 1, fixed: 1, fixFailed: 0, bodiesRead: 1 } },
        ])
      }),
    ),
  )

  it.effect(
    "an object gone since the listing is no drift of this run; a tombstone of an absent object is as it should be; a repaired entry costs no body read next time",
    () =>
      run(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          const gone = change("CHG-gone", 1)
          const goneKey = (yield* store.put(gone)).key
          const differing = change("CHG-diff", 1)
          const differingKey = (yield* store.put(differing)).key
          yield* cache.put(differing, { s3Key: differingKey, etag: "other" })
          const listing = yield* Stream.runCollect(store.list())
          yield* store.delete(gone.kind, gone.id)
          yield* store.delete(differing.kind, differing.id)
          const snapshot = { kind: "listing" as const, objects: Stream.fromChunk(listing) }
          const report = yield* Reconcile.run({ fix: true, source: snapshot })
          expect(report.drift).toStrictEqual([])
          expect(report).toMatchObject({ objects: 2, documents: 2, bodiesRead: 2 })
          expect(goneKey).toBeDefined()

          yield* cache.tombstone("change", "CHG-never", { ttlSeconds: 600 })
          const fresh = change("CHG-fresh", 1)
          yield* store.put(fresh)
          const fixed = yield* Reconcile.run({ fix: true })
          expect(fixed.drift.map((d) => `${d.type} ${d.id}`)).toStrictEqual(["missing CHG-fresh", "orphaned CHG-diff"])
          // The repair stored S3's ETag: the next run compares by ETag and reads nothing.
          const next = yield* Reconcile.run()
          expect(next).toMatchObject({ drift: [], bodiesRead: 0, compared: 1 })
        }),
      ),
  )

  it.effect("a missing repair racing a delete, and an expired entry's delete racing a write, are refused", () =>
    run(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        const a = change("CHG-del-race", 1)
        const key = (yield* store.put(a)).key
        let raced = false
        // Between reconcile's read of S3 and its repair, a writer deletes the document (S3, then a tombstone).
        const racing = hooked(store, {
          onRead: () =>
            raced
              ? Effect.void
              : Effect.suspend(() => {
                  raced = true
                  return Effect.orDie(
                    Effect.zipRight(store.delete(a.kind, a.id), cache.tombstone(a.kind, a.id, { ttlSeconds: 600 })),
                  )
                }),
        })
        const report = yield* Reconcile.run({ fix: true }).pipe(
          Effect.provideService(DocumentStore.DocumentStore, racing),
        )
        expect(report.drift).toMatchObject([{ type: "missing", key, repair: { outcome: "failed" } }])
        expect(yield* versionIn(a.kind, a.id)).toStrictEqual(Option.some("tombstone"))

        // An entry past its retention; a writer puts v2 just before reconcile's delete.
        const e = change("CHG-exp-race", 1)
        yield* inSync(e)
        yield* TestClock.setTime(LATER)
        const writing: DocumentCache.Service = {
          ...cache,
          delete: (kind, id, options) =>
            Effect.zipRight(
              Effect.orDie(
                cache.put(
                  {
                    ...e,
                    version: 2,
                    schedule: { start: "2028-06-01T00:00:00Z", end: "2028-06-02T00:00:00Z" },
                  } as Document.AnyDocument,
                  { s3Key: "changes/CHG-exp-race.json" },
                ),
              ),
              cache.delete(kind, id, options),
            ),
        }
        const expired = yield* Reconcile.run({ fix: true }).pipe(
          Effect.provideService(DocumentCache.DocumentCache, writing),
        )
        expect(expired.drift).toMatchObject([{ type: "expired", id: e.id, repair: { outcome: "failed" } }])
        expect(yield* versionIn(e.kind, e.id)).toStrictEqual(Option.some(2))
      }),
    ),
  )
})

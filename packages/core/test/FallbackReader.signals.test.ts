/**
 * What a FallbackReader read tells an operator (DESIGN section 9): the counters each
 * path moves (CacheHits, CacheMisses, Fallbacks, CacheRefills{outcome}) and the log
 * line's outcome, reason and version, on the memory ports. Invariant 3 itself is
 * FallbackReader.test.ts's property; this file pins the signals it does not read. Live clock:
 * the entries' expiries are real instants (1 s after the epoch is long past).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Arbitraries from "../src/Arbitraries.js"
import { CacheError } from "../src/CacheError.js"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import { logsOf } from "./support/Logs.js"

const registry = DocumentKind.defaultRegistry
const base = fc.sample(Arbitraries.announcement({ maxTextLength: 20, ids: ["ANN-sig-1"] }), { numRuns: 1, seed: 5 })[0]!
const version = (v: number): Document.AnyDocument => ({ ...base, version: v, publishAt: "2099-01-01T00:00:00Z" })

const counters = {
  hits: CacheMetrics.cacheHits,
  misses: CacheMetrics.cacheMisses,
  fallbacks: CacheMetrics.fallbacks,
  refillOk: Metric.tagged(CacheMetrics.refills, "outcome", "ok"),
  refillSkipped: Metric.tagged(CacheMetrics.refills, "outcome", "skipped"),
  refillFailed: Metric.tagged(CacheMetrics.refills, "outcome", "failed"),
}
type Counts = { -readonly [K in keyof typeof counters]: number }

const snapshot = Effect.gen(function* () {
  const out = {} as Counts
  for (const [name, counter] of Object.entries(counters)) {
    out[name as keyof Counts] = (yield* Metric.value(counter)).count
  }
  return out
})

/**
 * One read through a fresh reader over memory ports prepared by `setup`; returns what
 * it returned, the counters it moved (only those that moved) and the cache's entry after
 * its refill.
 */
const observe = (
  setup: (ports: { cache: DocumentCache.Service; store: DocumentStore.Service }) => Effect.Effect<void, unknown>,
  settings: Partial<DocketConfig.Settings> = {},
  wrapCache: (cache: DocumentCache.Service) => DocumentCache.Service = (cache) => cache,
) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory()
    yield* setup({ cache, store })
    const reader = yield* FallbackReader.make.pipe(
      Effect.provideService(DocumentCache.DocumentCache, wrapCache(cache)),
      Effect.provideService(DocumentStore.DocumentStore, store),
      Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test", ...settings })),
    )
    const before = yield* snapshot
    const result = yield* reader.read(base.kind, base.id)
    yield* reader.awaitRefills
    const after = yield* snapshot
    const moved: Partial<Counts> = {}
    for (const name of Object.keys(counters) as Array<keyof Counts>) {
      if (after[name] !== before[name]) moved[name] = after[name] - before[name]
    }
    const entry = yield* cache.get(base.kind, base.id, { includeExpired: true })
    return { result, moved, entry }
  }).pipe(Effect.scoped, Effect.provide(DocumentKind.layerDefault))

/** `observe`, with its log lines captured at debug level. */
const observed = (...args: Parameters<typeof observe>) =>
  Effect.map(logsOf(observe(...args)), ({ value: out, lines }) => {
    const of = (operation: string) => lines.filter((l) => l.fields.operation === operation)
    return { ...out, read: of("fallbackReader.read"), refill: of("fallbackReader.refill") }
  })

const cachedEntry = (document: Document.AnyDocument, expiresAt: number, pointer = false) =>
  ({
    _tag: "Cached",
    summary: registry.summarize(document),
    document: pointer ? undefined : document,
    s3Key: `announcements/${document.id}.json`,
    expiresAt,
  }) as const

const future = 4_102_444_800
const quiet = Logger.minimumLogLevel(LogLevel.None)

describe("FallbackReader signals", () => {
  it.live("a hit counts CacheHits only and logs at debug, with no reason", () =>
    Effect.gen(function* () {
      const v1 = version(1)
      const o = yield* observed(({ cache, store }) =>
        Effect.zipRight(store.put(v1), cache.put(v1, { s3Key: store.keyOf(v1.kind, v1.id) })),
      )
      expect(Option.map(o.result, (r) => r.source)).toStrictEqual(Option.some("cache"))
      expect(o.moved).toStrictEqual({ hits: 1 })
      expect(o.read).toHaveLength(1)
      expect(o.read[0]).toMatchObject({ level: "DEBUG", fields: { outcome: "hit", version: 1 } })
      expect(o.read[0]?.fields).not.toHaveProperty("reason")
      expect(o.refill).toHaveLength(0)
    }),
  )

  it.live("a miss counts a miss and a fallback, refills (ok) and logs reason miss at info", () =>
    Effect.gen(function* () {
      const v2 = version(2)
      const o = yield* observed(({ store }) => Effect.asVoid(store.put(v2)))
      expect(Option.map(o.result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["store", 2]))
      expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1, refillOk: 1 })
      expect(o.read[0]).toMatchObject({
        level: "INFO",
        fields: { outcome: "fallback", reason: "miss", version: 2, key: `${base.kind}/${base.id}` },
      })
      expect(o.refill).toHaveLength(1)
      expect(o.refill[0]).toMatchObject({ fields: { outcome: "ok", reason: "miss", version: 2 } })
      expect(Option.map(o.entry, (e) => e._tag === "Cached" && e.summary.version)).toStrictEqual(Option.some(2))
    }),
  )

  it.live("nothing in S3 either: not-found, reason miss, no refill", () =>
    Effect.gen(function* () {
      const o = yield* observed(() => Effect.void)
      expect(o.result).toStrictEqual(Option.none())
      expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1 })
      expect(o.read[0]).toMatchObject({ fields: { outcome: "not-found", reason: "miss" } })
      expect(o.read[0]?.fields).not.toHaveProperty("version")
    }),
  )

  it.live("a tombstone falls back without a refill: the tombstone stays", () =>
    Effect.gen(function* () {
      const v1 = version(1)
      const o = yield* observed(({ cache, store }) =>
        Effect.zipRight(
          store.put(v1),
          cache.restore(
            base.kind,
            base.id,
            Option.some({ _tag: "Tombstone", kind: base.kind, id: base.id, expiresAt: future }),
            { _tag: "Absent" },
          ),
        ),
      )
      expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1 })
      expect(o.read[0]).toMatchObject({ fields: { outcome: "fallback", reason: "tombstone", version: 1 } })
      expect(o.refill).toHaveLength(0)
      expect(Option.map(o.entry, (e) => e._tag)).toStrictEqual(Option.some("Tombstone"))
    }),
  )

  it.live("an expired entry refills only from a newer S3 version, over the version it saw", () =>
    Effect.gen(function* () {
      for (const [cached, inS3, refilled] of [
        [1, 2, true],
        [2, 2, false],
      ] as const) {
        const o = yield* observed(({ cache, store }) =>
          Effect.zipRight(
            store.put(version(inS3)),
            cache.restore(base.kind, base.id, Option.some(cachedEntry(version(cached), 1)), { _tag: "Absent" }),
          ),
        )
        expect(Option.map(o.result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["store", inS3]))
        expect(o.read[0]).toMatchObject({ fields: { outcome: "fallback", reason: "expired", version: inS3 } })
        expect(o.moved).toStrictEqual(refilled ? { misses: 1, fallbacks: 1, refillOk: 1 } : { misses: 1, fallbacks: 1 })
        const version_ = Option.map(o.entry, (e) => e._tag === "Cached" && [e.summary.version, e.expiresAt > 1])
        expect(version_).toStrictEqual(Option.some(refilled ? [inS3, true] : [cached, false]))
      }
    }),
  )

  it.live("a pointer item (body over the item limit) falls back with reason pointer", () =>
    Effect.gen(function* () {
      const o = yield* observed(({ cache, store }) =>
        Effect.zipRight(
          store.put(version(3)),
          cache.restore(base.kind, base.id, Option.some(cachedEntry(version(3), future, true)), { _tag: "Absent" }),
        ),
      )
      expect(Option.map(o.result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["store", 3]))
      expect(o.read[0]).toMatchObject({ fields: { outcome: "fallback", reason: "pointer", version: 3 } })
      expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1 })
    }),
  )

  it.live("a refill that something newer beat is counted as skipped, and the newer entry stays", () =>
    Effect.gen(function* () {
      // An expired v1 and S3 v2; v3 reaches the cache between the read and its refill:
      // the refill (over VersionIs 1) is refused.
      const o = yield* observed(
        ({ cache, store }) =>
          Effect.zipRight(
            store.put(version(2)),
            cache.restore(base.kind, base.id, Option.some(cachedEntry(version(1), 1)), { _tag: "Absent" }),
          ),
        {},
        (cache) => ({
          ...cache,
          put: (document, options) =>
            Effect.zipRight(
              Effect.orDie(cache.put(version(3), { s3Key: `announcements/${base.id}.json` })),
              cache.put(document, options),
            ),
        }),
      )
      expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1, refillSkipped: 1 })
      expect(o.refill[0]?.fields.outcome).toMatch(/^skipped-(changed|newer)$/)
      expect(Option.map(o.entry, (e) => e._tag === "Cached" && e.summary.version)).toStrictEqual(Option.some(3))
    }),
  )

  it.live("a cache error is a fallback, not a miss: reason cache-error, refilled only where nothing is cached", () =>
    Effect.gen(function* () {
      const failing = (cache: DocumentCache.Service): DocumentCache.Service => ({
        ...cache,
        inspect: (kind, id) =>
          Effect.fail(new CacheError({ reason: "Unavailable", operation: "GetItem", key: `${kind}/${id}` })),
      })
      const o = yield* observed(({ store }) => Effect.asVoid(store.put(version(2))), {}, failing)
      expect(Option.map(o.result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["store", 2]))
      expect(o.moved).toStrictEqual({ fallbacks: 1, refillOk: 1 })
      expect(o.read[0]).toMatchObject({ fields: { outcome: "fallback", reason: "cache-error", version: 2 } })
      // The refill's Absent condition: an entry the failed read could not see is not replaced.
      const held = yield* observed(
        ({ cache, store }) =>
          Effect.zipRight(store.put(version(2)), cache.put(version(5), { s3Key: `announcements/${base.id}.json` })),
        {},
        failing,
      )
      expect(held.moved).toStrictEqual({ fallbacks: 1, refillSkipped: 1 })
      expect(Option.map(held.entry, (e) => e._tag === "Cached" && e.summary.version)).toStrictEqual(Option.some(5))
    }),
  )

  it.live("a defect of the cache is not a cache error: the read dies with it", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        observed(
          ({ store }) => Effect.asVoid(store.put(version(1))),
          {},
          (cache) => ({ ...cache, inspect: () => Effect.dieMessage("bug in the cache") }),
        ),
      )
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    }),
  )

  it.live("cache off: a fallback without counting a miss, reason cache-off, nothing written", () =>
    Effect.gen(function* () {
      const o = yield* observed(({ store }) => Effect.asVoid(store.put(version(1))), { cacheEnabled: false })
      expect(o.moved).toStrictEqual({ fallbacks: 1 })
      expect(o.read[0]).toMatchObject({ fields: { outcome: "fallback", reason: "cache-off", version: 1 } })
      expect(o.entry).toStrictEqual(Option.none())
    }),
  )

  it.live("dry run: the refill is a log line saying what it would write, and nothing is written", () =>
    Effect.gen(function* () {
      const o = yield* observed(({ store }) => Effect.asVoid(store.put(version(4))), { dryRun: true })
      expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1 })
      expect(o.refill).toHaveLength(1)
      expect(o.refill[0]).toMatchObject({
        level: "INFO",
        fields: {
          outcome: "dry-run",
          key: `${base.kind}/${base.id}`,
          would: `put cache ${base.kind}/${base.id} version 4`,
          durationMs: 0,
        },
      })
      expect(o.entry).toStrictEqual(Option.none())
    }),
  )
  it.live(
    "a document past the cache's TTL is answered from S3 but not refilled: counted skipped, logged skipped-expired",
    () =>
      Effect.gen(function* () {
        // Published in 2000: with the default 365-day TTL its entry would be expired on arrival.
        const old: Document.AnyDocument = { ...base, version: 3, publishAt: "2000-01-01T00:00:00Z" }
        const o = yield* observed(({ store }) => Effect.asVoid(store.put(old)))
        expect(Option.map(o.result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["store", 3]))
        expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1, refillSkipped: 1 })
        expect(o.refill).toHaveLength(1)
        expect(o.refill[0]).toMatchObject({ fields: { outcome: "skipped-expired", reason: "miss", version: 3 } })
        expect(o.entry).toStrictEqual(Option.none())
      }),
  )

  it.live("a refill whose cache write fails is counted failed; the read still answers S3's document", () =>
    Effect.gen(function* () {
      const o = yield* observed(
        ({ store }) => Effect.asVoid(store.put(version(2))),
        {},
        (cache) => ({
          ...cache,
          put: (document) =>
            Effect.fail(
              new CacheError({ reason: "Unavailable", operation: "PutItem", key: `${document.kind}/${document.id}` }),
            ),
        }),
      )
      expect(Option.map(o.result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["store", 2]))
      expect(o.moved).toStrictEqual({ misses: 1, fallbacks: 1, refillFailed: 1 })
      expect(o.entry).toStrictEqual(Option.none())
    }),
  )

  it.live("an expired intent met by a read is resolved in the background, except in a dry run", () =>
    Effect.gen(function* () {
      const v1 = version(1)
      const abandoned = ({ cache, store }: { cache: DocumentCache.Service; store: DocumentStore.Service }) =>
        Effect.gen(function* () {
          const s3Key = store.keyOf(v1.kind, v1.id)
          const out = yield* store.put(v1)
          yield* cache.put(v1, { s3Key, etag: out.etag })
          // A dead writer's intent, its lease long over (1 ms after the epoch).
          yield* cache.intend({
            kind: v1.kind,
            id: v1.id,
            writer: "dead-writer",
            s3Key,
            leaseExpiresAt: 1,
            change: { _tag: "Put", document: version(2), etag: DocumentStore.expectedEtag(version(2)) },
          })
        })
      const intentAfter = (settings: Partial<DocketConfig.Settings>) =>
        Effect.gen(function* () {
          const cache = yield* DocumentCache.makeMemory()
          const store = yield* DocumentStore.makeMemory()
          yield* abandoned({ cache, store })
          const reader = yield* FallbackReader.make.pipe(
            Effect.provideService(DocumentCache.DocumentCache, cache),
            Effect.provideService(DocumentStore.DocumentStore, store),
            Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test", ...settings })),
          )
          const result = yield* reader.read(v1.kind, v1.id)
          yield* reader.awaitRefills
          expect(Option.map(result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["cache", 1]))
          return Option.map((yield* cache.inspect(v1.kind, v1.id)).intent, (i) => i.writer)
        }).pipe(Effect.scoped, Effect.provide(DocumentKind.layerDefault), Effect.provide(quiet))
      expect(yield* intentAfter({})).toStrictEqual(Option.none())
      expect(yield* intentAfter({ dryRun: true })).toStrictEqual(Option.some("dead-writer"))
    }),
  )

  it.live("FallbackReader.read reads through the layer's service", () =>
    Effect.gen(function* () {
      const store = yield* DocumentStore.makeMemory()
      yield* store.put(version(6))
      const result = yield* FallbackReader.read(base.kind, base.id).pipe(
        Effect.provide(FallbackReader.layer),
        Effect.provide(DocumentCache.layerMemory()),
        Effect.provideService(DocumentStore.DocumentStore, store),
        Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test" })),
        Effect.provide(quiet),
      )
      expect(Option.map(result, (r) => [r.source, r.document.version])).toStrictEqual(Option.some(["store", 6]))
    }).pipe(Effect.provide(DocumentKind.layerDefault)),
  )
})

/**
 * The drift Reconcile.test.ts's generator did not make (issue #11): S3 older than
 * the cache (a stale repair must overwrite a newer cached version, under its version
 * condition), and ETags quoted on one side only (S3 listings quote them, a cache
 * entry may not: a document in sync must cost no body read).
 */
import * as Arbitraries from "@docket/core/Arbitraries"
import * as Docket from "@docket/core/Docket"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as Reconcile from "@docket/core/Reconcile"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const customers = ["acme", "globex"]
const minTime = new Date("2026-06-01T00:00:00Z")
const maxTime = new Date("2027-06-01T00:00:00Z")
const corpus = fc.uniqueArray(Arbitraries.document({ customers, minTime, maxTime, maxTextLength: 8 }), {
  minLength: 1,
  maxLength: 10,
  selector: (d) => `${d.kind}/${d.id}`,
})
const now = Date.parse("2026-11-24T00:00:00Z")

const quote = (etag: string) => (etag.startsWith('"') ? etag : `"${etag}"`)
const unquote = (etag: string) => etag.replace(/"/g, "")

/** The store with its listing's ETags rewritten, counting body reads. */
const listingWith = (store: DocumentStore.Service, etag: (e: string) => string) => {
  let reads = 0
  const service: DocumentStore.Service = {
    ...store,
    list: (options) => Stream.map(store.list(options), (info) => ({ ...info, etag: etag(info.etag) })),
    getKey: (key) => Effect.tap(store.getKey(key), () => Effect.sync(() => (reads += 1))),
    get: (kind, id) => Effect.tap(store.get(kind, id), () => Effect.sync(() => (reads += 1))),
  }
  return { service, reads: () => reads }
}

describe("Reconcile drift", () => {
  it.effect.prop(
    "S3 older than the cache is stale drift, and --fix brings the cache back to S3's version",
    [corpus, fc.array(fc.boolean(), { minLength: 10, maxLength: 10 })],
    ([documents, older]) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(now)
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        const damaged = new Set<string>()
        for (const [i, d] of documents.entries()) {
          const { key, etag } = yield* store.put(d)
          if (older[i] === true) {
            // The cache holds a newer version S3 never got (a lost put, a restored bucket).
            yield* cache.put({ ...d, version: d.version + 1, title: `${d.title} (newer)` }, { s3Key: key })
            damaged.add(`${d.kind}/${d.id}`)
          } else yield* cache.put(d, { s3Key: key, etag })
        }
        const report = yield* Reconcile.run()
        expect(report.drift.map((d) => `${d.type} ${d.kind}/${d.id}`).sort()).toEqual(
          [...damaged].map((k) => `stale ${k}`).sort(),
        )
        const fixed = yield* Reconcile.run({ fix: true })
        expect(fixed.fixed).toBe(damaged.size)
        expect(Reconcile.allFixed(fixed)).toBe(true)
        for (const d of documents) {
          const entry = yield* cache.get(d.kind, d.id)
          expect(Option.getOrThrow(entry)).toMatchObject({ _tag: "Cached", document: d })
        }
        expect(Reconcile.hasDrift(yield* Reconcile.run())).toBe(false)
      }).pipe(Effect.provide(Docket.layerMemory())),
    { fastCheck: { numRuns: 40 } },
  )

  it.effect.prop(
    "documents in sync cost no body read, whichever side quotes its ETags",
    [corpus, fc.constantFrom("listing quoted", "cache quoted")],
    ([documents, side]) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(now)
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        for (const d of documents) {
          const { key, etag } = yield* store.put(d)
          yield* cache.put(d, { s3Key: key, etag: side === "cache quoted" ? quote(etag) : unquote(etag) })
        }
        const counted = listingWith(store, side === "listing quoted" ? quote : unquote)
        const report = yield* Reconcile.run().pipe(Effect.provideService(DocumentStore.DocumentStore, counted.service))
        expect(report.drift).toEqual([])
        expect(report.documents).toBe(documents.length)
        expect(counted.reads()).toBe(0)
      }).pipe(Effect.provide(Docket.layerMemory())),
    { fastCheck: { numRuns: 20 } },
  )
})

import * as Arbitraries from "@docket/core/Arbitraries"
import * as Docket from "@docket/core/Docket"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as Reconcile from "@docket/core/Reconcile"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const customers = ["acme", "globex"]
const minTime = new Date("2026-06-01T00:00:00Z")
const maxTime = new Date("2027-06-01T00:00:00Z")

/** What happens to one document behind the other side's back. */
type Damage = "none" | "dropFromCache" | "newerInS3" | "deletedFromS3"

const scenario = fc
  .uniqueArray(Arbitraries.document({ customers, minTime, maxTime, maxTextLength: 8 }), {
    minLength: 1,
    maxLength: 15,
    selector: (d) => `${d.kind}/${d.id}`,
  })
  .chain((documents) =>
    fc.tuple(
      fc.constant(documents),
      fc.array(fc.constantFrom<Damage>("none", "dropFromCache", "newerInS3", "deletedFromS3"), {
        minLength: documents.length,
        maxLength: documents.length,
      }),
    ),
  )

const expectedType: Record<Exclude<Damage, "none">, Reconcile.DriftType> = {
  dropFromCache: "missing",
  newerInS3: "stale",
  deletedFromS3: "orphaned",
}

describe("Reconcile", () => {
  it.effect.prop(
    "reconcile reports exactly the injected drift, and after --fix the cache equals S3",
    [scenario],
    ([[documents, damage]]) =>
      Effect.gen(function* () {
        // Orphans are found by the scan, whatever their time.
        yield* TestClock.setTime(Date.parse("2026-11-24T00:00:00Z"))
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        for (const d of documents) {
          const { key, etag } = yield* store.put(d)
          yield* cache.put(d, { s3Key: key, etag })
        }
        const truth = new Map<string, Document.AnyDocument>()
        for (const [i, d] of documents.entries()) {
          const what = damage[i]!
          if (what === "dropFromCache") yield* cache.delete(d.kind, d.id)
          if (what === "newerInS3") yield* store.put({ ...d, version: d.version + 1 })
          if (what === "deletedFromS3") yield* store.delete(d.kind, d.id)
          if (what !== "deletedFromS3")
            truth.set(`${d.kind}/${d.id}`, what === "newerInS3" ? { ...d, version: d.version + 1 } : d)
        }
        const report = yield* Reconcile.run()
        const expected = documents
          .flatMap((d, i) =>
            damage[i] === "none" ? [] : [`${expectedType[damage[i] as Exclude<Damage, "none">]} ${d.kind}/${d.id}`],
          )
          .sort()
        expect(report.drift.map((d) => `${d.type} ${d.kind}/${d.id}`).sort()).toEqual(expected)
        expect(report.drift.every((d) => d.repair === undefined)).toBe(true)

        const fixed = yield* Reconcile.run({ fix: true })
        expect(fixed.fixed).toBe(expected.length)
        expect(Reconcile.allFixed(fixed)).toBe(true)
        for (const d of documents) {
          const entry = yield* cache.get(d.kind, d.id)
          const want = truth.get(`${d.kind}/${d.id}`)
          if (want === undefined) expect(Option.isNone(entry) || entry.value._tag === "Tombstone").toBe(true)
          else expect(Option.getOrThrow(entry)).toMatchObject({ _tag: "Cached", document: want })
        }
        expect(Reconcile.hasDrift(yield* Reconcile.run())).toBe(false)
      }).pipe(Effect.provide(Docket.layerMemory())),
    { fastCheck: { numRuns: 60 }, timeout: 240_000 },
  )

  it.effect("a dry run reports drift and repairs nothing", () =>
    Effect.gen(function* () {
      const store = yield* DocumentStore.DocumentStore
      const [document] = fc.sample(Arbitraries.change({ customers, minTime, maxTime }), { numRuns: 1, seed: 3 })
      yield* store.put(document!)
      const report = yield* Reconcile.run({ fix: true, dryRun: true })
      expect(report).toMatchObject({ fix: false, fixed: 0, counts: { missing: 1 } })
      expect(Reconcile.hasDrift(yield* Reconcile.run())).toBe(true)
    }).pipe(Effect.provide(Docket.layerMemory())),
  )

  it.effect("reports progress: entries read, then joined, with the total once both sides are read", () =>
    Effect.gen(function* () {
      const store = yield* DocumentStore.DocumentStore
      const documents = fc.sample(Arbitraries.change({ customers, minTime, maxTime }), { numRuns: 5, seed: 11 })
      const ids = new Set(documents.map((d) => d.id))
      yield* Effect.forEach(documents, (d) => store.put(d), { discard: true })
      const seen: Array<Reconcile.Progress> = []
      const record = (p: Reconcile.Progress) => Effect.sync(() => void seen.push(p))
      const first = yield* Reconcile.run({ fix: true, onProgress: record, progressEveryMs: 0 })
      expect(first.counts.missing).toBe(ids.size)
      expect(seen[0]?.phase).toBe("reading")
      expect(seen.filter((p) => p.phase === "reading").every((p) => p.total === undefined)).toBe(true)
      expect(seen.map((p) => p.done)).toStrictEqual([...seen.map((p) => p.done)].sort((a, b) => a - b))
      // S3 holds the documents, the cache nothing: each key is read once and joined once.
      expect(seen.at(-1)).toMatchObject({
        phase: "comparing",
        done: 2 * ids.size,
        total: 2 * ids.size,
        drift: ids.size,
      })

      seen.length = 0
      yield* Reconcile.run({ onProgress: record, progressEveryMs: 0 })
      // Repaired: both sides hold every document now.
      expect(seen.at(-1)).toMatchObject({
        phase: "comparing",
        done: 4 * ids.size,
        total: 4 * ids.size,
        objects: ids.size,
        cacheEntries: ids.size,
        drift: 0,
        bodiesRead: 0,
      })
    }).pipe(Effect.provide(Docket.layerMemory())),
  )
})

/**
 * The contract of the DocumentCache port's bulk reads (`fingerprints` and
 * `scan`), run against the memory layer and DynamoDB Local alike.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { DocumentCache, type Fingerprint } from "../src/DocumentCache.js"
import { change, type Fresh, NOW } from "./DocumentCache.contract.js"

const year = 366 * 86_400_000
const iso = (millis: number) => new Date(millis).toISOString()

const ref = (f: Fingerprint) => `${f._tag} ${f.kind}/${f.id} v${f.version ?? "-"} ${f.etag ?? "-"} ${f.s3Key ?? "-"}`

/** Runs the bulk contract against `fresh`. */
export const bulkContract = (name: string, fresh: Fresh) =>
  describe(`DocumentCache bulk contract: ${name}`, () => {
    const run = <A, E>(self: Effect.Effect<A, E, DocumentCache>) =>
      TestClock.setTime(NOW).pipe(Effect.zipRight(self), Effect.provide(fresh({ retentionDays: 30, dryRun: false })))

    /** 240 documents (past 100 keys a batch), one 8 years ahead, one expired, one tombstone. */
    const seed = Effect.gen(function* () {
      const cache = yield* DocumentCache
      const docs = Array.from({ length: 240 }, (_, i) =>
        change(
          `bulk${String(i).padStart(3, "0")}`,
          1 + (i % 3),
          ["acme", "globex"].slice(0, 1 + (i % 2)),
          iso(NOW + i * 3_600_000),
        ),
      )
      yield* Effect.forEach(docs, (d) => cache.put(d, { s3Key: `changes/${d.id}.json`, etag: `"e-${d.id}"` }), {
        concurrency: 8,
      })
      const far = change("far", 1, ["acme"], iso(NOW + 8 * year))
      yield* cache.put(far, { s3Key: "changes/CHG-far.json", etag: '"far"' })
      const old = change("old", 1, ["acme"], iso(NOW - 40 * 86_400_000))
      yield* cache.put(old, { s3Key: "changes/CHG-old.json", etag: '"old"' })
      yield* cache.tombstone("change", "CHG-gone", { ttlSeconds: 600, etag: '"gone"' })
      return [...docs, far, old]
    })

    it.effect(
      "fingerprints answers every ref it holds (expired and tombstones too), past 100 keys, without bodies",
      () =>
        run(
          Effect.gen(function* () {
            const cache = yield* DocumentCache
            const docs = yield* seed
            const refs = [
              ...docs.map((d) => ({ kind: d.kind, id: d.id })),
              { kind: "change", id: "CHG-gone" },
              { kind: "change", id: "CHG-never" },
              { kind: "change", id: "CHG-bulk000" }, // a duplicate ref
            ]
            const found = yield* cache.fingerprints(refs)
            expect(found.length).toBe(docs.length + 1)
            const byId = new Map(found.map((f) => [f.id, f]))
            expect(byId.has("CHG-never")).toBe(false)
            expect(byId.get("CHG-gone")).toMatchObject({ _tag: "Tombstone", etag: '"gone"', version: undefined })
            expect(byId.get("CHG-old")).toMatchObject({ _tag: "Cached", etag: '"old"', s3Key: "changes/CHG-old.json" })
            const d = docs[5]!
            expect(byId.get(d.id)).toStrictEqual({
              _tag: "Cached",
              kind: "change",
              id: d.id,
              version: d.version,
              etag: `"e-${d.id}"`,
              s3Key: `changes/${d.id}.json`,
              expiresAt: expect.any(Number),
              time: iso(NOW + 5 * 3_600_000),
              customers: ["acme", "globex"],
            })
            expect(yield* cache.fingerprints([])).toStrictEqual([])
          }),
        ),
    )

    it.effect(
      "scan sees every entry whatever its time (8 years ahead, expired, tombstones), once, for any segment count",
      () =>
        run(
          Effect.gen(function* () {
            const cache = yield* DocumentCache
            const docs = yield* seed
            const fromFingerprints = (yield* cache.fingerprints(docs.map((d) => ({ kind: d.kind, id: d.id })))).map(ref)
            for (const segments of [1, 3, 8]) {
              const scanned = Chunk.toArray(yield* Stream.runCollect(cache.scan({ segments })))
              expect(scanned.length).toBe(docs.length + 1)
              expect(scanned.map(ref).sort()).toStrictEqual(
                [...fromFingerprints, 'Tombstone change/CHG-gone v- "gone" -'].sort(),
              )
            }
          }),
        ),
    )
  })

import * as Arbitraries from "@docket/core/Arbitraries"
import * as Backfill from "@docket/core/Backfill"
import * as Docket from "@docket/core/Docket"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as DocumentStore from "@docket/core/DocumentStore"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

const customers = ["acme", "globex", "initech"]
const minTime = new Date("2026-01-01T00:00:00Z")
const maxTime = new Date("2027-01-01T00:00:00Z")

const corpus = fc.uniqueArray(Arbitraries.document({ customers, minTime, maxTime, maxTextLength: 10 }), {
  minLength: 1,
  maxLength: 25,
  selector: (d) => `${d.kind}/${d.id}`,
})

const filters = fc.record(
  {
    from: Arbitraries.instant(minTime, maxTime),
    to: Arbitraries.instant(minTime, maxTime),
    customers: fc.subarray(customers, { minLength: 1 }),
    kinds: fc.subarray(["change", "announcement"], { minLength: 1 }),
  },
  { requiredKeys: [] },
)

describe("Backfill", () => {
  it.effect.prop(
    "backfill writes exactly the documents that match the filters, and a second run writes nothing",
    [corpus, filters],
    ([documents, raw]) =>
      Effect.gen(function* () {
        const options: Backfill.Options =
          raw.from !== undefined && raw.to !== undefined && raw.from >= raw.to
            ? { ...raw, to: undefined as never }
            : raw
        const clean = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Backfill.Options
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        const kinds = yield* DocumentKind.DocumentKinds
        yield* Effect.forEach(documents, (d) => store.put(d))
        const expected = documents.filter((d) => {
          const s = kinds.summarize(d)
          return (
            (clean.from === undefined || s.time >= new Date(clean.from).toISOString()) &&
            (clean.to === undefined || s.time < new Date(clean.to).toISOString()) &&
            (clean.kinds === undefined || clean.kinds.includes(s.kind)) &&
            (clean.customers === undefined || s.customers.some((c) => clean.customers?.includes(c)))
          )
        })
        const summary = yield* Backfill.run({ ...clean, concurrency: 4 })
        expect(summary).toMatchObject({ listed: documents.length, matched: expected.length, written: expected.length })
        expect(summary.failed).toBe(0)
        for (const d of documents) {
          const entry = yield* cache.get(d.kind, d.id)
          expect(Option.isSome(entry)).toBe(expected.includes(d))
        }
        const again = yield* Backfill.run({ ...clean, concurrency: 4 })
        expect(again).toMatchObject({ written: 0, unchanged: expected.length })
      }).pipe(Effect.provide(Docket.layerMemory())),
    { fastCheck: { numRuns: 100 }, timeout: 240_000 },
  )

  it.prop(
    "the checkpoint never passes a position whose predecessors are not all done and successful",
    [
      fc.integer({ min: 1, max: 40 }).chain((n) =>
        fc.tuple(
          fc.shuffledSubarray(
            Array.from({ length: n }, (_, i) => i),
            { minLength: n, maxLength: n },
          ),
          fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }),
        ),
      ),
    ],
    ([[order, failing]]) => {
      const watermark = Backfill.makeWatermark()
      const done = new Set<number>()
      for (const index of order) {
        done.add(index)
        const checkpoint = watermark.complete(index, `k${String(index).padStart(3, "0")}`, !failing.includes(index))
        // The highest i such that 0..i are all done and none of them failed.
        let expected = -1
        while (done.has(expected + 1) && !failing.includes(expected + 1)) expected += 1
        expect(checkpoint).toEqual(expected < 0 ? Option.none() : Option.some(`k${String(expected).padStart(3, "0")}`))
      }
    },
    { fastCheck: { numRuns: 300 } },
  )

  it.effect("resuming after a checkpoint processes every later key and reports earlier writes unchanged", () =>
    Effect.gen(function* () {
      const store = yield* DocumentStore.DocumentStore
      const documents = fc.sample(
        fc.uniqueArray(Arbitraries.document({ customers, minTime, maxTime, maxTextLength: 5 }), {
          minLength: 30,
          maxLength: 30,
          selector: (d) => `${d.kind}/${d.id}`,
        }),
        { numRuns: 1, seed: 7 },
      )[0]!
      yield* Effect.forEach(documents, (d) => store.put(d))
      const keys = Chunk.toReadonlyArray(yield* Stream.runCollect(store.list())).map((info) => info.key)
      const first = yield* Backfill.run({ concurrency: 3 })
      expect(first.written).toBe(30)
      // As if the first run had been interrupted after its checkpoint reached the 12th key.
      const resumed = yield* Backfill.run({ concurrency: 3, startAfter: keys[11]! })
      expect(resumed.listed).toBe(30 - 12)
      expect(resumed).toMatchObject({ written: 0, unchanged: 18, failed: 0 })
    }).pipe(Effect.provide(Docket.layerMemory())),
  )

  it.effect("rejects a backwards range and unknown kinds before listing anything", () =>
    Effect.gen(function* () {
      const backwards = yield* Effect.flip(Backfill.run({ from: "2026-02-01", to: "2026-01-01" }))
      expect(backwards).toMatchObject({ _tag: "BackfillError", reason: "BadRange" })
      const kind = yield* Effect.flip(Backfill.run({ kinds: ["memo"] }))
      expect(kind.message).toContain("memo")
    }).pipe(Effect.provide(Docket.layerMemory())),
  )

  it.effect("a checkpoint that cannot be saved fails the run with CheckpointFailed, not a defect", () =>
    Effect.gen(function* () {
      const store = yield* DocumentStore.DocumentStore
      const documents = fc.sample(
        fc.uniqueArray(Arbitraries.document({ customers, minTime, maxTime, maxTextLength: 5 }), {
          minLength: 10,
          maxLength: 10,
          selector: (d) => `${d.kind}/${d.id}`,
        }),
        { numRuns: 1, seed: 11 },
      )[0]!
      yield* Effect.forEach(documents, (d) => store.put(d))
      const keys = Chunk.toReadonlyArray(yield* Stream.runCollect(store.list())).map((info) => info.key)
      const diskFull = new Error("ENOSPC: no space left on device")
      // Only the final checkpoint (the run's end, once a finalizer) is saved: it fails.
      const atEnd = yield* Effect.flip(Backfill.run({ concurrency: 3, onCheckpoint: () => Effect.fail(diskFull) }))
      expect([atEnd._tag, atEnd.reason, String(atEnd.cause)]).toEqual([
        "BackfillError",
        "CheckpointFailed",
        String(diskFull),
      ])
      expect(atEnd.message).toContain("ENOSPC")
      expect(atEnd.message).toContain(keys.at(-1))
      // Saved on every move: the first save fails, and the run stops there.
      const saved: Array<string> = []
      const midway = yield* Effect.flip(
        Backfill.run({
          concurrency: 1,
          batchSize: 1,
          checkpointEveryMs: 0,
          onCheckpoint: (key) => (saved.length === 3 ? Effect.fail(diskFull) : Effect.sync(() => saved.push(key))),
        }),
      )
      expect(midway.reason).toBe("CheckpointFailed")
      expect(saved).toEqual(keys.slice(0, 3))
      expect(midway.message).toContain(keys[3])
    }).pipe(Effect.provide(Docket.layerMemory())),
  )
})

/** An object Backfill cannot use: not JSON, JSON of no known shape, or a document whose id differs from its key's. */
const badBody = fc.constantFrom("not json {", '{"kind":"change","id":"CHG-x"}', "[]", "")

describe("Backfill with bad objects", () => {
  it.effect.prop(
    "a bad object fails alone: good ones are written, it is reported, and the checkpoint never passes it",
    [
      corpus,
      fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 999 }), badBody), {
        minLength: 1,
        maxLength: 4,
        selector: ([n]) => n,
      }),
    ],
    ([documents, bad]) =>
      Effect.gen(function* () {
        const store = (yield* DocumentStore.DocumentStore) as DocumentStore.MemoryStore
        const cache = yield* DocumentCache.DocumentCache
        yield* Effect.forEach(documents, (d) => store.putRaw(store.keyOf(d.kind, d.id), JSON.stringify(d)))
        const badKeys = bad.map(([n]) => `changes/CHG-bad-${String(n).padStart(3, "0")}.json`)
        yield* Effect.forEach(bad, ([, body], i) => store.putRaw(badKeys[i]!, body))
        const listing = Chunk.toReadonlyArray(yield* Stream.runCollect(store.list())).map((info) => info.key)
        const firstBad = listing.findIndex((k) => badKeys.includes(k))
        const checkpoints: Array<string> = []
        const summary = yield* Backfill.run({
          concurrency: 4,
          checkpointEveryMs: 0,
          onCheckpoint: (key) => Effect.sync(() => checkpoints.push(key)),
        })
        expect(summary).toMatchObject({ listed: listing.length, failed: bad.length, written: documents.length })
        expect(summary.failures.map((f) => f.key).sort()).toEqual([...badKeys].sort())
        for (const f of summary.failures) expect(f.message.length).toBeGreaterThan(0)
        for (const d of documents) expect(Option.isSome(yield* cache.get(d.kind, d.id))).toBe(true)
        // Resuming after any checkpoint must still meet the first bad object.
        const passed = (key: string) => listing.indexOf(key) >= firstBad
        expect(checkpoints.filter(passed)).toEqual([])
        expect(Option.match(summary.checkpoint, { onNone: () => false, onSome: passed })).toBe(false)
        const resumed = yield* Backfill.run({
          concurrency: 4,
          ...Option.match(summary.checkpoint, { onNone: () => ({}), onSome: (startAfter) => ({ startAfter }) }),
        })
        expect(resumed.failed).toBe(bad.length)
      }).pipe(Effect.provide(Docket.layerMemory())),
    { fastCheck: { numRuns: 40 } },
  )
})

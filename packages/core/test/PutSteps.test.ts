/**
 * Which cache puts are steps of an operation that logs its own line (`PutOptions.step`:
 * the put's success line is `debug`, docs/observability.md): event sync's put (under the
 * record's `event-sync` line) and a backfill's puts (under the run's report) are; a
 * reconcile repair's put is not (drift is rare and worth its own line). Memory layers,
 * a cache that records the options of every put; behaviour only. Also a backfill's
 * `likelyAbsent` hint (a create without a read first, DynamoDB's Writes.ts): exactly the
 * puts of documents the batch comparison found no fingerprint for.
 */
import * as Backfill from "@docket/core/Backfill"
import * as Docket from "@docket/core/Docket"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as Reconcile from "@docket/core/Reconcile"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as S3EventSync from "../src/S3EventSync.js"
import * as SyncModel from "./S3EventSyncModel.js"
import { change, services } from "./support/Backfill.js"
import { memory, NOW } from "./support/EventSyncMemory.js"

/** The cache, recording each put's document key and options. */
const recording = (cache: DocumentCache.Service) => {
  const puts: Array<{ key: string; options: DocumentCache.PutOptions }> = []
  const service: DocumentCache.Service = {
    ...cache,
    put: (document: Document.AnyDocument, options: DocumentCache.PutOptions) => {
      puts.push({ key: `${document.kind}/${document.id}`, options })
      return cache.put(document, options)
    },
  }
  return { service, puts }
}

describe("cache puts that are steps", () => {
  it.effect("event sync's put is a step of its event-sync line", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const { service, puts } = recording(cache)
      const doc = SyncModel.document(0, 1, "one")
      const { key } = yield* store.put(doc)
      yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }])).pipe(
        Effect.provide(context({ cache: service })),
      )
      expect(puts.map((p) => [p.key, p.options.step])).toStrictEqual([[`${doc.kind}/${doc.id}`, true]])
    }),
  )

  it.effect("a backfill's puts are steps of the run; a reconcile repair's put is not", () =>
    Effect.gen(function* () {
      const { store, cache } = yield* services
      const { service, puts } = recording(cache)
      yield* store.put(change("CHG-a", 1))
      yield* store.put(change("CHG-b", 1))
      const summary = yield* Backfill.run().pipe(Effect.provideService(DocumentCache.DocumentCache, service))
      expect(summary.written).toBe(2)
      expect(puts.map((p) => p.options.step)).toStrictEqual([true, true])
      puts.length = 0
      // S3 moves ahead of the cache: reconcile repairs the entry with a put of its own line.
      yield* store.put(change("CHG-a", 2))
      yield* Reconcile.run({ fix: true }).pipe(Effect.provideService(DocumentCache.DocumentCache, service))
      expect(puts.length).toBeGreaterThan(0)
      expect(puts.every((p) => p.options.step === undefined)).toBe(true)
    }).pipe(Effect.provide(Docket.layerMemory({}))),
  )

  it.effect("a backfill's put is likelyAbsent exactly when the batch comparison saw no cache item", () =>
    Effect.gen(function* () {
      const { store, cache } = yield* services
      const { service, puts } = recording(cache)
      yield* store.put(change("CHG-a", 1))
      yield* Backfill.run().pipe(Effect.provideService(DocumentCache.DocumentCache, service))
      expect(puts.map((p) => p.options.likelyAbsent)).toStrictEqual([true])
      puts.length = 0
      // CHG-a is cached at v1 and S3 moved to v2: a fingerprint, no hint; CHG-b has no item: the hint.
      yield* store.put(change("CHG-a", 2))
      yield* store.put(change("CHG-b", 1))
      const summary = yield* Backfill.run().pipe(Effect.provideService(DocumentCache.DocumentCache, service))
      expect(summary.written).toBe(2)
      const hints = puts.map((p) => [p.key, p.options.likelyAbsent] as const).sort(([a], [b]) => (a < b ? -1 : 1))
      expect(hints).toStrictEqual([
        ["change/CHG-a", undefined],
        ["change/CHG-b", true],
      ])
    }).pipe(Effect.provide(Docket.layerMemory({}))),
  )
})

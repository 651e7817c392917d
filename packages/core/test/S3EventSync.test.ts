import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as DocketConfig from "../src/DocketConfig.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as S3Event from "../src/S3Event.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as S3Key from "../src/S3Key.js"
import * as SyncModel from "./S3EventSyncModel.js"
import { yieldTurn } from "./support/EventLoop.js"

const bucket = "docs"
const prefix = SyncModel.prefix

/** Fresh memory cache and store, with handles on both. */
const memory = (settings: Partial<DocketConfig.Settings> = {}) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory({ prefix, bucket })
    const context = Layer.mergeAll(
      Layer.succeed(DocumentCache.DocumentCache, cache),
      Layer.succeed(DocumentStore.DocumentStore, store),
      DocketConfig.layer(DocketConfig.make({ bucket, prefix, maxAttempts: 1, ...settings })),
      DocumentKind.layerDefault,
    )
    return { cache, store, context }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

const fixtures = join(import.meta.dirname, "fixtures", "s3-events")

const counter = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)

describe("S3EventSync", () => {
  it.effect.prop(
    "any order, duplication and delay of a key's events ends with the cache equal to S3 (memory layers)",
    [SyncModel.scenario],
    ([scenario]) =>
      Effect.gen(function* () {
        // Each run first lets the worker's event loop turn (support/EventLoop.ts says why).
        yield* yieldTurn
        const { cache, store, context } = yield* memory()
        const hooks = SyncModel.withReadHook(store)
        const withHooks = Layer.merge(context, Layer.succeed(DocumentStore.DocumentStore, hooks.store))
        yield* SyncModel.run(scenario, {
          store,
          hooks,
          process: (event) => S3EventSync.processEvent(event).pipe(Effect.provide(withHooks), Effect.orDie),
        })
        yield* SyncModel.expectConverged(store, cache)
      }),
    { fastCheck: { numRuns: 300 } },
  )

  it.effect("writes S3's current document, tombstones a deleted one, and counts stale records", () =>
    Effect.gen(function* () {
      const { cache, store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "first")
      yield* store.put(doc)
      const key = store.keyOf(doc.kind, doc.id)
      const staleBefore = yield* counter(CacheMetrics.eventsStale)
      const processedBefore = yield* counter(CacheMetrics.eventsProcessed)

      const created = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "0A" }])).pipe(
        Effect.provide(context),
      )
      expect(created.results.map((r) => r.result)).toStrictEqual([
        Either.right({ _tag: "Written", kind: "change", id: doc.id, version: 1 }),
      ])
      const cached = yield* cache.get(doc.kind, doc.id)
      expect(Option.isSome(cached) && cached.value._tag === "Cached" && cached.value.document).toStrictEqual(doc)
      expect(Option.isSome(cached) && cached.value.sequencer).toBe("A".padStart(32, "0"))

      yield* store.delete(doc.kind, doc.id)
      // The delete (0C) lands first; the create (0B) arrives late and must not resurrect the document.
      const late = yield* S3EventSync.processEvent(
        SyncModel.notification([
          { key, sequencer: "0C", eventName: "ObjectRemoved:Delete" },
          { key, sequencer: "0B" },
        ]),
        { concurrency: 1, tombstoneTtl: "10 minutes" },
      ).pipe(Effect.provide(context))
      expect(late.results.map((r) => Either.getOrThrow(r.result)._tag)).toStrictEqual(["Tombstoned", "Stale"])
      const tomb = yield* cache.get(doc.kind, doc.id)
      expect(Option.isSome(tomb) && tomb.value._tag).toBe("Tombstone")
      expect(Option.isSome(tomb) && tomb.value.expiresAt).toBe(600)
      // A restore (or any change that is not a create or delete) leaves the cache alone.
      const restored = yield* S3EventSync.processEvent({
        ...SyncModel.eventBridge({ key, sequencer: "0D" }),
        "detail-type": "Object Restore Completed",
      }).pipe(Effect.provide(context))
      expect(restored.results.map((r) => r.result)).toStrictEqual([
        Either.right({ _tag: "Skipped", reason: "NoContentChange" }),
      ])
      expect((yield* counter(CacheMetrics.eventsStale)) - staleBefore).toBe(1)
      expect((yield* counter(CacheMetrics.eventsProcessed)) - processedBefore).toBe(2)
    }),
  )

  it.effect("without a usable sequencer, re-reads S3 and keeps the stored sequencer", () =>
    Effect.gen(function* () {
      const { cache, store, context } = yield* memory()
      const v1 = SyncModel.document(1, 1, "one")
      const key = store.keyOf(v1.kind, v1.id)
      yield* store.put(v1)
      yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "05" }])).pipe(Effect.provide(context))
      // Someone rewrote S3 with an older version: S3 is the truth.
      const v0 = { ...v1, version: 1, title: "rewritten" }
      yield* store.put(v0)
      const result = yield* S3EventSync.processEvent(
        SyncModel.notification([{ key, sequencer: "Happy Sequencer" }, { key }]),
      ).pipe(Effect.provide(context))
      expect(result.failed).toStrictEqual([])
      const cached = yield* cache.get(v1.kind, v1.id)
      expect(Option.isSome(cached) && cached.value._tag === "Cached" && cached.value.document).toStrictEqual(v0)
      expect(Option.isSome(cached) && cached.value.sequencer).toBe("5".padStart(32, "0"))
      // A record with an older sequencer than the one kept is still stale afterwards.
      yield* store.put({ ...v1, version: 2, title: "newer" })
      const old = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "04" }])).pipe(
        Effect.provide(context),
      )
      expect(old.results.map((r) => Either.getOrThrow(r.result)._tag)).toStrictEqual(["Stale"])
    }),
  )

  it.effect("skips every fixture (their keys are not documents) and fails none", () =>
    Effect.gen(function* () {
      for (const file of readdirSync(fixtures).filter((f) => f.endsWith(".json"))) {
        const event: unknown = JSON.parse(readFileSync(join(fixtures, file), "utf8"))
        const decoded = Either.getOrThrow(S3Event.decode(event))
        const first = decoded.entries[0]
        const fixtureBucket = first?._tag === "Record" ? first.record.bucket : bucket
        const { context } = yield* memory({ bucket: fixtureBucket, prefix: "" })
        const result = yield* S3EventSync.processEvent(event).pipe(Effect.provide(context))
        expect(result.failed, file).toStrictEqual([])
        for (const r of result.results) {
          const outcome = Either.getOrThrow(r.result)
          expect(outcome._tag, file).toBe("Skipped")
          expect(outcome._tag === "Skipped" && outcome.reason, file).toBe("NotADocument")
        }
      }
    }),
  )

  it.effect("a bad record fails alone: the rest of the batch is applied and SQS reports only its message", () =>
    Effect.gen(function* () {
      const { cache, store, context } = yield* memory()
      const good = SyncModel.document(0, 1, "good")
      yield* store.put(good)
      const goodKey = store.keyOf(good.kind, good.id)
      const junkKey = `${prefix}changes/CHG-junk.json`
      yield* store.putRaw(junkKey, '{"kind":"change","id":"CHG-junk"}')
      const mismatchKey = `${prefix}changes/CHG-other.json`
      yield* store.putRaw(mismatchKey, JSON.stringify(SyncModel.document(2, 1, "elsewhere")))
      const failedBefore = yield* counter(CacheMetrics.eventsFailed)
      const event = SyncModel.sqs([
        ["m1", SyncModel.notification([{ key: junkKey, sequencer: "01" }])],
        ["m2", SyncModel.notification([{ key: goodKey, sequencer: "02" }])],
        ["m3", "not json"],
        ["m4", SyncModel.notification([{ key: mismatchKey, sequencer: "03" }])],
        ["m5", { Service: "Amazon S3", Event: "s3:TestEvent", Bucket: bucket }],
        ["m6", SyncModel.notification([{ key: "other/file.txt", sequencer: "04" }])],
      ])
      const result = yield* S3EventSync.processEvent(event).pipe(Effect.provide(context))
      expect(result.failedMessageIds).toStrictEqual(["m1", "m3", "m4"])
      const errors = result.failed.map((r) => (Either.isLeft(r.result) ? r.result.left : undefined))
      expect(errors.map((e) => e?._tag)).toStrictEqual(["EventSyncError", "MalformedEventError", "EventSyncError"])
      expect(errors[0]?.message).toContain("CHG-junk.json")
      expect(errors[0]?.message).toContain("SQS message m1")
      expect(errors[2]?.message).toContain("CHG-other")
      expect((yield* counter(CacheMetrics.eventsFailed)) - failedBefore).toBe(3)
      const cached = yield* cache.get(good.kind, good.id)
      expect(Option.isSome(cached) && cached.value._tag === "Cached" && cached.value.document).toStrictEqual(good)
      expect(yield* cache.get("change", "CHG-junk")).toStrictEqual(Option.none())
    }),
  )

  it.effect("with the cache disabled, records are skipped and nothing is written", () =>
    Effect.gen(function* () {
      const { cache, store, context } = yield* memory({ cacheEnabled: false })
      const doc = SyncModel.document(0, 1, "off")
      yield* store.put(doc)
      const result = yield* S3EventSync.processEvent(
        SyncModel.notification([{ key: store.keyOf(doc.kind, doc.id), sequencer: "01" }]),
      ).pipe(Effect.provide(context))
      expect(result.results.map((r) => r.result)).toStrictEqual([
        Either.right({ _tag: "Skipped", reason: "CacheDisabled" }),
      ])
      expect(yield* cache.get(doc.kind, doc.id)).toStrictEqual(Option.none())
    }),
  )

  it.effect("dry run changes nothing and says what it would do", () =>
    Effect.gen(function* () {
      const { cache, store, context } = yield* memory({ dryRun: true })
      const doc = SyncModel.document(0, 3, "dry")
      yield* store.put(doc)
      const key = store.keyOf(doc.kind, doc.id)
      const result = yield* S3EventSync.processEvent(
        SyncModel.notification([
          { key, sequencer: "01" },
          { key: S3Key.forDocument(prefix, DocumentKind.change, "CHG-gone"), sequencer: "02" },
        ]),
      ).pipe(Effect.provide(context))
      expect(result.results.map((r) => Either.getOrThrow(r.result))).toStrictEqual([
        { _tag: "DryRun", kind: "change", id: doc.id, action: "put" },
        { _tag: "DryRun", kind: "change", id: "CHG-gone", action: "tombstone" },
      ])
      expect(yield* cache.get(doc.kind, doc.id)).toStrictEqual(Option.none())
    }),
  )

  it.live("retries a record while S3 fails transiently, and a defect in one record loses no other", () =>
    Effect.gen(function* () {
      const { cache, store, context } = yield* memory()
      const a = SyncModel.document(0, 1, "a")
      const b = SyncModel.document(1, 1, "b")
      yield* store.put(a)
      yield* store.put(b)
      let failures = 2
      const flaky: DocumentStore.Service = {
        ...store,
        getKey: (key) =>
          key.includes(a.id) && failures-- > 0
            ? Effect.fail(new DocumentStore.StoreError({ reason: "Unavailable", operation: "GetObject", key }))
            : key.includes("CHG-boom")
              ? Effect.die(new Error("boom"))
              : store.getKey(key),
      }
      const result = yield* S3EventSync.processEvent(
        SyncModel.notification([
          { key: store.keyOf(a.kind, a.id), sequencer: "01" },
          { key: S3Key.forDocument(prefix, DocumentKind.change, "CHG-boom"), sequencer: "02" },
          { key: store.keyOf(b.kind, b.id), sequencer: "03" },
        ]),
        { retry: { maxAttempts: 3, base: "1 millis", cap: "5 millis" } },
      ).pipe(Effect.provide(Layer.merge(context, Layer.succeed(DocumentStore.DocumentStore, flaky))))
      expect(failures).toBe(-1)
      expect(result.results.map((r) => (Either.isRight(r.result) ? r.result.right._tag : r.result.left._tag))).toEqual([
        "Written",
        "EventSyncError",
        "Written",
      ])
      const boom = result.failed[0]?.result
      expect(boom && Either.isLeft(boom) && boom.left._tag === "EventSyncError" && boom.left.reason).toBe("Defect")
      for (const doc of [a, b]) {
        const cached = yield* cache.get(doc.kind, doc.id)
        expect(Option.isSome(cached) && cached.value._tag === "Cached" && cached.value.document).toStrictEqual(doc)
      }
    }),
  )
})

/**
 * Event sync's paths the convergence property does not reach (issue #11, the
 * mutation pass over event sync): a record meeting a write intent, the failures
 * of each port and their reasons, the no-sequencer record over an unchanged
 * object, the tombstone's lifetime, the retry policy from the settings, each
 * result's location and message id, and the in-process consumer on a push source.
 * All on the memory layers; behaviour only (outcomes, cache and S3 state, metrics).
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as S3Key from "../src/S3Key.js"
import * as SyncModel from "./S3EventSyncModel.js"
import { bucket, intentRequest, memory, NOW, outcomes, prefix } from "./support/EventSyncMemory.js"
import { logsOf } from "./support/Logs.js"

const counter = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)

const messageOf = (e: unknown) => String((e as { message?: unknown } | undefined)?.message)

const cachedVersion = (cache: DocumentCache.Service, kind: string, id: string) =>
  Effect.map(cache.get(kind, id, { includeExpired: true }), (entry) =>
    Option.map(entry, (e) => (e._tag === "Cached" ? e.summary.version : "tombstone")),
  )

const exporter = new InMemorySpanExporter()
const otel = NodeSdk.layer(() => ({
  resource: { serviceName: "docket-test" },
  spanProcessor: new SimpleSpanProcessor(exporter),
}))

describe("S3EventSync paths", () => {
  it.effect("a record meeting a live intent whose change S3 does not show leaves it to its writer (Stale)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const v1 = SyncModel.document(0, 1, "one")
      const { key } = yield* store.put(v1)
      yield* cache.put(v1, { s3Key: key })
      const v2 = { ...v1, version: 2, title: "two" }
      yield* cache.intend(intentRequest(v1, key, "w1", { _tag: "Put", document: v2, etag: "not-in-s3" }))
      const staleBefore = yield* counter(CacheMetrics.eventsStale)
      const result = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }])).pipe(
        Effect.provide(context()),
      )
      expect(outcomes(result)).toStrictEqual([{ _tag: "Stale", kind: v1.kind, id: v1.id }])
      expect((yield* counter(CacheMetrics.eventsStale)) - staleBefore).toBe(1)
      // Nothing committed on the writer's behalf: its intent and the committed v1 stay.
      const slot = yield* cache.inspect(v1.kind, v1.id)
      expect(Option.map(slot.intent, (i) => i.writer)).toStrictEqual(Option.some("w1"))
      expect(yield* cachedVersion(cache, v1.kind, v1.id)).toStrictEqual(Option.some(1))
    }),
  )

  it.effect("a record meeting a live intent whose change S3 shows commits it for its writer", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const v1 = SyncModel.document(0, 1, "one")
      const v2 = { ...v1, version: 2, title: "two" }
      // The put: its intent is recorded, S3 got v2, the writer has not committed yet.
      const key = store.keyOf(v1.kind, v1.id)
      yield* cache.intend(intentRequest(v1, key, "w1", { _tag: "Put", document: v2, etag: "" }))
      yield* cache.clearIntent(v1.kind, v1.id, "w1")
      const { etag } = yield* store.put(v2)
      yield* cache.intend(intentRequest(v1, key, "w1", { _tag: "Put", document: v2, etag }))
      const put = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "02" }])).pipe(
        Effect.provide(context()),
      )
      expect(outcomes(put)).toStrictEqual([{ _tag: "Written", kind: v1.kind, id: v1.id, version: 2 }])
      const afterPut = yield* cache.inspect(v1.kind, v1.id)
      expect(afterPut.intent).toStrictEqual(Option.none())
      expect(Option.map(afterPut.entry, (e) => (e._tag === "Cached" ? [e.summary.version, e.etag] : e._tag))).toEqual(
        Option.some([2, etag]),
      )

      // A delete: its intent recorded, S3's object gone; the record commits the tombstone.
      yield* cache.intend(intentRequest(v1, key, "w2", { _tag: "Delete" }))
      yield* store.delete(v1.kind, v1.id)
      const removed = yield* S3EventSync.processEvent(
        SyncModel.notification([{ key, sequencer: "03", eventName: "ObjectRemoved:Delete" }]),
      ).pipe(Effect.provide(context()))
      expect(outcomes(removed)).toStrictEqual([{ _tag: "Tombstoned", kind: v1.kind, id: v1.id }])
      const afterDelete = yield* cache.inspect(v1.kind, v1.id)
      expect(afterDelete.intent).toStrictEqual(Option.none())
      expect(Option.map(afterDelete.entry, (e) => e._tag)).toStrictEqual(Option.some("Tombstone"))
    }),
  )

  it.effect("a record meeting an expired intent resolves it, then converges again (one retry)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const v1 = SyncModel.document(1, 1, "one")
      const { key } = yield* store.put(v1)
      // A writer died with its intent (a put S3 never got) on a key the cache does not hold.
      const v2 = { ...v1, version: 2 }
      yield* cache.intend(intentRequest(v1, key, "dead", { _tag: "Put", document: v2, etag: "lost" }, NOW - 1))
      const once = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }]), {
        retry: { maxAttempts: 1, base: "1 millis", cap: "1 millis" },
      }).pipe(Effect.provide(context()))
      // Alone, the attempt that resolved the intent fails retryably (it converges on the next one).
      const [error] = outcomes(once)
      expect(error).toMatchObject({ _tag: "EventSyncError", reason: "CacheFailed", key })
      expect(error !== undefined && "retryable" in error && error.retryable).toBe(true)
      expect((yield* cache.inspect(v1.kind, v1.id)).intent).toStrictEqual(Option.none())

      yield* cache.intend(intentRequest(v1, key, "dead2", { _tag: "Put", document: v2, etag: "lost" }, NOW - 1))
      const retried = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "02" }]), {
        retry: { maxAttempts: 2, base: "1 millis", cap: "1 millis" },
      }).pipe(
        Effect.provide(context()),
        Effect.fork,
        Effect.tap(() => TestClock.adjust("10 millis")),
        Effect.flatMap(Fiber.join),
      )
      expect(outcomes(retried)).toStrictEqual([{ _tag: "Written", kind: v1.kind, id: v1.id, version: 1 }])
      expect(yield* cachedVersion(cache, v1.kind, v1.id)).toStrictEqual(Option.some(1))
    }),
  )

  it.effect("a sequenced record whose S3 read fails ends its concurrent cache snapshot too", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const { key } = yield* store.put(SyncModel.document(0, 1, "doc"))
      const started = yield* Deferred.make<void>()
      const ended = yield* Deferred.make<void>()
      // A snapshot that never answers: only the record's end can stop it.
      const hanging: DocumentCache.Service = {
        ...cache,
        snapshot: () =>
          Deferred.succeed(started, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Deferred.succeed(ended, undefined)),
          ),
      }
      const denied = new DocumentStore.StoreError({ reason: "AccessDenied", operation: "GetObject", key })
      const failing: DocumentStore.Service = {
        ...store,
        getKey: () => Effect.zipRight(Deferred.await(started), Effect.fail(denied)),
      }
      const result = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }])).pipe(
        Effect.provide(context({ cache: hanging, store: failing })),
      )
      expect(outcomes(result)).toMatchObject([{ _tag: "EventSyncError", reason: "StoreFailed" }])
      expect(yield* Deferred.isDone(ended)).toBe(true)
    }),
  )

  it.effect("each port's failure is the record's typed error with its reason; the others still apply", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const gone = S3Key.forDocument(prefix, DocumentKind.change, "CHG-gone")
      const denied = new DocumentStore.StoreError({ reason: "AccessDenied", operation: "GetObject", key })
      const down = new DocumentCache.CacheError({ reason: "Unavailable", operation: "put", key })
      const failingStore: DocumentStore.Service = { ...store, getKey: () => Effect.fail(denied) }
      const failingCache: DocumentCache.Service = {
        ...cache,
        get: () => Effect.fail(down),
        put: () => Effect.fail(down),
        tombstone: () => Effect.fail(down),
      }
      const event = SyncModel.notification([{ key, sequencer: "01" }, { key: gone, sequencer: "02" }, { key }])
      const storeFailed = yield* S3EventSync.processEvent(event).pipe(Effect.provide(context({ store: failingStore })))
      expect(outcomes(storeFailed).map((e) => [e._tag, "reason" in e ? e.reason : undefined])).toStrictEqual([
        ["EventSyncError", "StoreFailed"],
        ["EventSyncError", "StoreFailed"],
        ["EventSyncError", "StoreFailed"],
      ])
      const [first] = outcomes(storeFailed)
      expect(first).toMatchObject({ key, cause: denied })
      expect(messageOf(first)).toContain("could not be read from S3")
      expect(messageOf(first)).toContain(JSON.stringify(key))

      // The cache failing: the put, the tombstone and the no-sequencer record's read of the guard.
      const cacheFailed = yield* S3EventSync.processEvent(event).pipe(Effect.provide(context({ cache: failingCache })))
      expect(outcomes(cacheFailed).map((e) => [e._tag, "reason" in e ? e.reason : undefined])).toStrictEqual([
        ["EventSyncError", "CacheFailed"],
        ["EventSyncError", "CacheFailed"],
        ["EventSyncError", "CacheFailed"],
      ])
      for (const e of outcomes(cacheFailed)) {
        expect(e).toMatchObject({ cause: down })
        expect(messageOf(e)).toContain("could not be written to the cache")
      }
      expect(cacheFailed.failed.map((r) => r.key)).toStrictEqual([key, gone, key])

      // A body that does not decode: InvalidDocument (never retried, not the store's fault).
      yield* store.putRaw(key, "{not json")
      const invalid = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "03" }])).pipe(
        Effect.provide(context()),
      )
      const [bad] = outcomes(invalid)
      expect(bad).toMatchObject({ _tag: "EventSyncError", reason: "InvalidDocument" })
      expect(messageOf(bad)).toContain("holds no valid document for its key")
      expect(bad !== undefined && "retryable" in bad && bad.retryable).toBe(false)
    }),
  )

  it.effect(
    "a record without a sequencer over an unchanged object is Unchanged and keeps the sequencer; another bucket's is skipped",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { cache, store, context } = yield* memory()
        const doc = SyncModel.document(2, 1, "doc")
        const { key } = yield* store.put(doc)
        yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "0B" }])).pipe(
          Effect.provide(context()),
        )
        const processedBefore = yield* counter(CacheMetrics.eventsProcessed)
        const skippedBefore = yield* counter(CacheMetrics.eventsSkipped)
        const again = yield* S3EventSync.processEvent(SyncModel.notification([{ key }])).pipe(Effect.provide(context()))
        expect(outcomes(again)).toStrictEqual([{ _tag: "Unchanged", kind: doc.kind, id: doc.id, version: 1 }])
        const cached = yield* cache.get(doc.kind, doc.id)
        expect(Option.isSome(cached) && cached.value.sequencer).toBe("B".padStart(32, "0"))
        expect((yield* counter(CacheMetrics.eventsProcessed)) - processedBefore).toBe(1)

        const other = yield* S3EventSync.processEvent(
          SyncModel.notification([{ key, sequencer: "0C" }], "another-bucket"),
        ).pipe(Effect.provide(context()))
        expect(outcomes(other)).toStrictEqual([{ _tag: "Skipped", reason: "OtherBucket" }])
        expect((yield* counter(CacheMetrics.eventsSkipped)) - skippedBefore).toBe(1)
        // A record with no sequencer for a key the cache never held: written (guarded on "nothing sequenced").
        const fresh = SyncModel.document(1, 4, "fresh")
        const put = yield* store.put(fresh)
        const first = yield* S3EventSync.processEvent(SyncModel.notification([{ key: put.key }])).pipe(
          Effect.provide(context()),
        )
        expect(outcomes(first)).toStrictEqual([{ _tag: "Written", kind: fresh.kind, id: fresh.id, version: 4 }])
        const entry = yield* cache.get(fresh.kind, fresh.id)
        expect(Option.isSome(entry) && entry.value.sequencer).toBeUndefined()
      }),
  )

  it.effect("a tombstone lives tombstoneTtl (rounded up to a second, at least one), one hour by default", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, context } = yield* memory()
      const expiresAt = (id: string, tombstoneTtl?: string) =>
        Effect.gen(function* () {
          const key = S3Key.forDocument(prefix, DocumentKind.change, id)
          const result = yield* S3EventSync.processEvent(
            SyncModel.notification([{ key, sequencer: "01", eventName: "ObjectRemoved:Delete" }]),
            tombstoneTtl === undefined ? {} : { tombstoneTtl: tombstoneTtl as Duration.DurationInput },
          ).pipe(Effect.provide(context()))
          expect(outcomes(result)).toStrictEqual([{ _tag: "Tombstoned", kind: "change", id }])
          const entry = yield* cache.get("change", id, { includeExpired: true })
          return Option.isSome(entry) && entry.value._tag === "Tombstone" ? entry.value.expiresAt - NOW / 1000 : -1
        })
      expect(yield* expiresAt("CHG-default")).toBe(3600)
      expect(yield* expiresAt("CHG-ten", "10 minutes")).toBe(600)
      expect(yield* expiresAt("CHG-fraction", "1500 millis")).toBe(2)
      expect(yield* expiresAt("CHG-zero", "0 millis")).toBe(1)
    }),
  )

  it.live("without a retry option a record is retried up to the settings' maxAttempts", () =>
    Effect.gen(function* () {
      const flakyStore = (failures: number, store: DocumentStore.Service) => {
        let left = failures
        const service: DocumentStore.Service = {
          ...store,
          getKey: (key) =>
            left-- > 0
              ? Effect.fail(new DocumentStore.StoreError({ reason: "Unavailable", operation: "GetObject", key }))
              : store.getKey(key),
        }
        return service
      }
      const three = yield* memory({ maxAttempts: 3 })
      const doc = SyncModel.document(0, 1, "flaky")
      const { key } = yield* three.store.put(doc)
      const event = SyncModel.notification([{ key, sequencer: "01" }])
      const ok = yield* S3EventSync.processEvent(event).pipe(
        Effect.provide(three.context({ store: flakyStore(2, three.store) })),
      )
      expect(outcomes(ok)).toStrictEqual([{ _tag: "Written", kind: doc.kind, id: doc.id, version: 1 }])
      const one = yield* memory({ maxAttempts: 1 })
      yield* one.store.put(doc)
      const failed = yield* S3EventSync.processEvent(event).pipe(
        Effect.provide(one.context({ store: flakyStore(1, one.store) })),
      )
      expect(outcomes(failed)).toMatchObject([{ _tag: "EventSyncError", reason: "StoreFailed" }])
    }),
  )

  it.effect("each result names its record's location, key and SQS message; a message counts once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const junk = `${prefix}changes/CHG-junk.json`
      yield* store.putRaw(junk, "{")
      const direct = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }])).pipe(
        Effect.provide(context()),
      )
      expect(direct.results.map(({ result: _, ...where }) => where)).toStrictEqual([{ location: "Records[0]", key }])
      expect(direct.failedMessageIds).toStrictEqual([])
      const event = SyncModel.sqs([
        [
          "m1",
          SyncModel.notification([
            { key: junk, sequencer: "02" },
            { key: junk, sequencer: "03" },
          ]),
        ],
        ["m2", { Service: "Amazon S3", Event: "s3:TestEvent", Bucket: bucket }],
        ["m3", "not json"],
        ["m4", SyncModel.notification([{ key, sequencer: "04" }])],
      ])
      const result = yield* S3EventSync.processEvent(event).pipe(Effect.provide(context()))
      expect(result.source).toBe("sqs")
      const where = result.results.map(({ result: _, ...w }) => w)
      expect(where.map((w) => w.messageId)).toStrictEqual(["m1", "m1", "m2", "m3", "m4"])
      expect(where.map((w) => w.key)).toStrictEqual([junk, junk, undefined, undefined, key])
      expect(new Set(where.map((w) => w.location)).size).toBe(5)
      for (const w of where) expect(w.location).toContain(w.messageId)
      expect(outcomes(result)[2]).toStrictEqual({ _tag: "Skipped", reason: "TestEvent" })
      expect(result.failed.map((r) => r.messageId)).toStrictEqual(["m1", "m1", "m3"])
      expect(result.failedMessageIds).toStrictEqual(["m1", "m3"])
    }),
  )

  it.live(
    "consume: events pushed by a source are applied in the background; idle waits for the ones in flight; failures are kept; the scope unsubscribes",
    () =>
      Effect.gen(function* () {
        const { cache, store, context } = yield* memory()
        const listeners = new Set<(event: unknown) => void>()
        const push = (event: unknown) => {
          for (const l of listeners) l(event)
        }
        const gate = yield* Deferred.make<void>()
        let held = true
        const gated: DocumentStore.Service = {
          ...store,
          getKey: (key) => (held ? Effect.zipRight(Deferred.await(gate), store.getKey(key)) : store.getKey(key)),
        }
        const a = SyncModel.document(0, 1, "a")
        const b = SyncModel.document(1, 1, "b")
        const keyA = (yield* store.put(a)).key
        const keyB = (yield* store.put(b)).key
        const junk = `${prefix}changes/CHG-junk.json`
        yield* store.putRaw(junk, "{")
        const { lines } = yield* logsOf(
          Effect.scoped(
            Effect.gen(function* () {
              const consumer = yield* S3EventSync.consume(
                (listener) => {
                  listeners.add(listener)
                  return () => listeners.delete(listener)
                },
                { tombstoneTtl: "10 minutes" },
              )
              expect(listeners.size).toBe(1)
              push(SyncModel.notification([{ key: keyA, sequencer: "01" }]))
              // The record waits on S3: idle must not complete while it is in flight.
              const first = yield* Effect.raceFirst(
                Effect.as(consumer.idle, "idle" as const),
                Effect.as(Effect.sleep("300 millis"), "still in flight" as const),
              )
              expect(first).toBe("still in flight")
              held = false
              yield* Deferred.succeed(gate, undefined)
              yield* consumer.idle
              expect(yield* cachedVersion(cache, a.kind, a.id)).toStrictEqual(Option.some(1))
              // Several events, a bad record and an event of no known shape: the others apply.
              push("not an event")
              push(SyncModel.notification([{ key: junk, sequencer: "02" }]))
              push(SyncModel.notification([{ key: keyB, sequencer: "03" }]))
              yield* consumer.idle
              expect(yield* cachedVersion(cache, b.kind, b.id)).toStrictEqual(Option.some(1))
              const failures = yield* consumer.failures
              expect(failures.map((f) => f.key)).toStrictEqual([junk])
              expect(failures[0]?.result).toMatchObject(
                Either.left({ _tag: "EventSyncError", reason: "InvalidDocument" }),
              )
              // The consumer's own options reach each record: a delete's tombstone lives its
              // tombstoneTtl (10 minutes), not the default hour.
              yield* store.delete(a.kind, a.id)
              push(SyncModel.notification([{ key: keyA, sequencer: "04", eventName: "ObjectRemoved:Delete" }]))
              yield* consumer.idle
              const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
              const tombstone = yield* cache.get(a.kind, a.id, { includeExpired: true })
              const lives =
                Option.isSome(tombstone) && tombstone.value._tag === "Tombstone"
                  ? tombstone.value.expiresAt - nowSeconds
                  : -1
              expect(lives).toBeGreaterThanOrEqual(599)
              expect(lives).toBeLessThanOrEqual(601)
            }).pipe(Effect.provide(context({ store: gated }))),
          ),
        )
        expect(listeners.size).toBe(0)
        // The event of no known shape is logged as a warning, and nothing else of it is kept.
        const malformed = lines.filter((l) => l.fields.outcome === "MalformedEventError")
        expect(malformed.map((l) => [l.level, l.message, l.fields.operation])).toStrictEqual([
          ["WARN", "event-sync", "event-sync"],
        ])
        expect(String(malformed[0]?.fields.error)).toContain("Malformed S3 event")
      }),
  )

  it.effect(
    "every record logs one line: operation, key, outcome, sequencer, location, SQS message; skips at debug, malformed ones as warnings",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { store, context } = yield* memory()
        const doc = SyncModel.document(0, 1, "doc")
        const { key } = yield* store.put(doc)
        const event = SyncModel.sqs([
          [
            "m1",
            SyncModel.notification([
              { key, sequencer: "0A" },
              { key: "other/file.txt", sequencer: "0B" },
            ]),
          ],
          ["m2", { Service: "Amazon S3", Event: "s3:TestEvent", Bucket: bucket }],
          ["m3", "not json"],
        ])
        const { value, lines } = yield* logsOf(S3EventSync.processEvent(event).pipe(Effect.provide(context())))
        const where = value.results.map((r) => r.location)
        // Records run concurrently (a write's snapshot overlaps its GetObject), so lines
        // arrive in completion order: compare them in the records' order.
        const order = (l: { fields: Record<string, unknown> }) => where.indexOf(l.fields.location as string)
        const sync = lines.filter((l) => l.fields.operation === "event-sync").sort((a, b) => order(a) - order(b))
        expect(sync.map((l) => [l.level, l.message, l.fields.outcome, l.fields.location])).toStrictEqual([
          ["INFO", "event-sync", "Written", where[0]],
          ["DEBUG", "event-sync", "Skipped", where[1]],
          ["DEBUG", "event-sync", "Skipped", where[2]],
          ["WARN", "event-sync", "MalformedEventError:InvalidBody", where[3]],
        ])
        expect(sync[0]?.fields).toMatchObject({
          key,
          bucket,
          eventName: "ObjectCreated:Put",
          sequencer: "0A",
          source: "sqs",
          messageId: "m1",
          version: 1,
        })
        expect(sync[1]?.fields).toMatchObject({
          reason: "NotADocument",
          key: "other/file.txt",
          bucket,
          eventName: "ObjectCreated:Put",
        })
        expect(sync[2]?.fields).toMatchObject({ reason: "TestEvent", messageId: "m2" })
        expect(sync[3]?.fields).toMatchObject({ messageId: "m3" })
        expect(String(sync[3]?.fields.error)).toContain("m3")
        // A record without a sequencer logs `null`, and no message id outside SQS.
        const bare = yield* logsOf(
          S3EventSync.processEvent(SyncModel.notification([{ key }])).pipe(Effect.provide(context())),
        )
        const [line] = bare.lines.filter((l) => l.fields.operation === "event-sync")
        expect(line?.fields).toMatchObject({ sequencer: null, outcome: "Unchanged", version: 1 })
        expect(line?.fields).not.toHaveProperty("messageId")
      }),
  )

  it.effect("a batch is one span (records, failures, ok or partial) over each record's event-sync span", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const junk = `${prefix}changes/CHG-junk.json`
      yield* store.putRaw(junk, "{")
      const spansOf = (event: unknown) =>
        Effect.gen(function* () {
          exporter.reset()
          yield* S3EventSync.processEvent(event).pipe(Effect.provide(context()))
          const spans = exporter.getFinishedSpans()
          const batch = spans.filter((s) => s.name === "S3EventSync.batch")
          expect(batch).toHaveLength(1)
          const children = spans.filter((s) => s.parentSpanContext?.spanId === batch[0]?.spanContext().spanId)
          return { batch: batch[0]?.attributes, children: children.map((c) => c.name) }
        })
      const ok = yield* spansOf(SyncModel.notification([{ key, sequencer: "01" }]))
      expect(ok.batch).toMatchObject({
        "docket.source": "s3",
        "docket.records": 1,
        "docket.failed": 0,
        "docket.outcome": "ok",
      })
      expect(ok.children).toStrictEqual(["event-sync"])
      const partial = yield* spansOf(
        SyncModel.notification([
          { key, sequencer: "02" },
          { key: junk, sequencer: "03" },
        ]),
      )
      expect(partial.batch).toMatchObject({ "docket.records": 2, "docket.failed": 1, "docket.outcome": "partial" })
      // The exporter is emptied when the SDK shuts down, so the spans are read while it runs.
    }).pipe(Effect.provide(otel)),
  )

  it.effect("config: the tombstone TTL and the concurrency from the environment, each at least 1", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        Effect.either(
          Effect.withConfigProvider(S3EventSync.config, ConfigProvider.fromMap(new Map(Object.entries(env)))),
        )
      const defaults = Either.getOrThrow(yield* read({}))
      expect(defaults.concurrency).toBe(S3EventSync.defaultConcurrency)
      expect(defaults.tombstoneTtl).toStrictEqual(Duration.seconds(3600))
      const ones = Either.getOrThrow(yield* read({ DOCKET_TOMBSTONE_TTL_SECONDS: "1", DOCKET_EVENT_CONCURRENCY: "1" }))
      expect(ones).toStrictEqual({ tombstoneTtl: Duration.seconds(1), concurrency: 1 })
      for (const [name, value] of [
        ["DOCKET_TOMBSTONE_TTL_SECONDS", "0"],
        ["DOCKET_EVENT_CONCURRENCY", "0"],
      ] as const) {
        const refused = yield* read({ [name]: value })
        expect(Either.isLeft(refused), name).toBe(true)
        expect(String(Either.isLeft(refused) ? refused.left : ""), name).toContain(`${name} must be at least 1`)
      }
    }),
  )

  it.effect(
    "a record without a sequencer, in flight while a sequenced event completes, does not overwrite that event's state",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { cache, store, context } = yield* memory()
        const v1 = SyncModel.document(0, 1, "one")
        const v2 = { ...v1, version: 2, title: "two" }
        const { key } = yield* store.put(v1)
        const hooks = SyncModel.withReadHook(store)
        // The no-sequencer record reads v1; then S3 gets v2 and v2's event is applied in full.
        hooks.afterNextRead(
          Effect.zipRight(
            Effect.orDie(store.put(v2)),
            Effect.asVoid(
              S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "0A" }])).pipe(
                Effect.provide(context()),
                Effect.orDie,
              ),
            ),
          ),
        )
        const late = yield* S3EventSync.processEvent(SyncModel.notification([{ key }])).pipe(
          Effect.provide(context({ store: hooks.store })),
        )
        expect(outcomes(late)).toStrictEqual([{ _tag: "Stale", kind: v1.kind, id: v1.id }])
        expect(yield* cachedVersion(cache, v1.kind, v1.id)).toStrictEqual(Option.some(2))
      }),
  )

  it.effect("a record without a sequencer guards on the sequencer of an entry past its retention too", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const v1 = SyncModel.document(0, 1, "one")
      const { key } = yield* store.put(v1)
      yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "05" }])).pipe(
        Effect.provide(context()),
      )
      // Past the entry's retention (the document's time plus 365 days): reads no longer see it.
      yield* TestClock.setTime(Date.parse("2028-06-01T00:00:00Z"))
      expect(yield* cache.get(v1.kind, v1.id)).toStrictEqual(Option.none())
      yield* store.put({ ...v1, version: 2, title: "two" })
      const result = yield* S3EventSync.processEvent(SyncModel.notification([{ key }])).pipe(Effect.provide(context()))
      expect(outcomes(result)).toStrictEqual([{ _tag: "Written", kind: v1.kind, id: v1.id, version: 2 }])
      const entry = yield* cache.get(v1.kind, v1.id, { includeExpired: true })
      expect(Option.isSome(entry) && entry.value.sequencer).toBe("5".padStart(32, "0"))
    }),
  )

  it.effect(
    "an object whose body names another document of the same kind is InvalidDocument, and nothing is cached",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { cache, store, context } = yield* memory()
        const other = SyncModel.document(0, 1, "other")
        const key = `${prefix}changes/CHG-elsewhere.json`
        yield* store.putRaw(key, JSON.stringify(other))
        const result = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }])).pipe(
          Effect.provide(context()),
        )
        const [error] = outcomes(result)
        expect(error).toMatchObject({ _tag: "EventSyncError", reason: "InvalidDocument", key })
        expect(messageOf(error)).toContain(`the key names change CHG-elsewhere but the body is change ${other.id}`)
        expect(yield* cache.get("change", "CHG-elsewhere")).toStrictEqual(Option.none())
        expect(yield* cache.get(other.kind, other.id)).toStrictEqual(Option.none())
      }),
  )

  it.effect("errors carry their SQS message id (a defect's too), and the cause's message", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { store, context } = yield* memory()
      const junk = `${prefix}changes/CHG-junk.json`
      yield* store.putRaw(junk, "{")
      const boom = S3Key.forDocument(prefix, DocumentKind.change, "CHG-boom")
      const dying: DocumentStore.Service = {
        ...store,
        getKey: (key) => (key === boom ? Effect.die(new Error("boom")) : store.getKey(key)),
      }
      const event = SyncModel.sqs([
        ["m1", SyncModel.notification([{ key: junk, sequencer: "01" }])],
        ["m2", SyncModel.notification([{ key: boom, sequencer: "02" }])],
      ])
      const result = yield* S3EventSync.processEvent(event).pipe(Effect.provide(context({ store: dying })))
      const [bad, defect] = outcomes(result)
      expect(bad).toMatchObject({ _tag: "EventSyncError", reason: "InvalidDocument", key: junk, messageId: "m1" })
      expect(messageOf(bad)).toContain("malformed JSON")
      expect(defect).toMatchObject({ _tag: "EventSyncError", reason: "Defect", key: boom, messageId: "m2" })
      expect(messageOf(defect)).toContain("hit a defect: boom")
      const direct = yield* S3EventSync.processEvent(SyncModel.notification([{ key: junk, sequencer: "03" }])).pipe(
        Effect.provide(context()),
      )
      expect(outcomes(direct)[0]).not.toHaveProperty("messageId")
    }),
  )

  it.effect("the event lag is measured from the event's time (never negative)", () =>
    Effect.gen(function* () {
      const { store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const at = (eventTime: string, sequencer: string) => {
        const event = SyncModel.notification([{ key, sequencer }])
        return { Records: event.Records.map((r) => ({ ...r, eventTime })) }
      }
      const lag = Effect.map(Metric.value(CacheMetrics.eventLag), (h) => ({ count: h.count, sum: h.sum }))
      yield* TestClock.setTime(NOW + 5_000)
      const before = yield* lag
      yield* S3EventSync.processEvent(at(new Date(NOW).toISOString(), "01")).pipe(Effect.provide(context()))
      const after = yield* lag
      expect([after.count - before.count, after.sum - before.sum]).toStrictEqual([1, 5_000])
      // An event stamped after the clock (skew): counted with no lag.
      yield* S3EventSync.processEvent(at(new Date(NOW + 60_000).toISOString(), "02")).pipe(Effect.provide(context()))
      const skewed = yield* lag
      expect([skewed.count - after.count, skewed.sum - after.sum]).toStrictEqual([1, 0])
    }),
  )

  it.effect(
    "a lifecycle expiration without a sequencer, in flight while a new object's event completes, does not tombstone it",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { cache, store, context } = yield* memory()
        const v1 = SyncModel.document(1, 1, "new")
        const key = store.keyOf(v1.kind, v1.id)
        const hooks = SyncModel.withReadHook(store)
        // The expiration reads S3 (nothing); then a new object lands and its event is applied in full.
        hooks.afterNextRead(
          Effect.zipRight(
            Effect.orDie(store.put(v1)),
            Effect.asVoid(
              S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "0A" }])).pipe(
                Effect.provide(context()),
                Effect.orDie,
              ),
            ),
          ),
        )
        const late = yield* S3EventSync.processEvent(
          SyncModel.notification([{ key, eventName: "LifecycleExpiration:Delete" }]),
        ).pipe(Effect.provide(context({ store: hooks.store })))
        expect(outcomes(late)).toStrictEqual([{ _tag: "Stale", kind: v1.kind, id: v1.id }])
        expect(yield* cachedVersion(cache, v1.kind, v1.id)).toStrictEqual(Option.some(1))
      }),
  )

  it.effect("outside SQS a defect's error carries no message id", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { store, context } = yield* memory()
      const boom = S3Key.forDocument(prefix, DocumentKind.change, "CHG-boom")
      const dying: DocumentStore.Service = { ...store, getKey: () => Effect.die(new Error("boom")) }
      const died = yield* S3EventSync.processEvent(SyncModel.notification([{ key: boom, sequencer: "01" }])).pipe(
        Effect.provide(context({ store: dying })),
      )
      const [defect] = outcomes(died)
      expect(defect).toMatchObject({ _tag: "EventSyncError", reason: "Defect" })
      expect(defect).not.toHaveProperty("messageId")
    }),
  )
})

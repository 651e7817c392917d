/**
 * Event sync's edges that the mutation pass over event sync (issue #11) found
 * untested: a dry run (what it would do, nothing read from the cache or written),
 * records without a content change and with the cache off (skipped with their
 * reason), the cache's snapshot failing, and an intent met by a record whose
 * resolution cannot read S3 or the cache (the record's error names which); a record
 * without a sequencer takes its snapshot before it reads S3, and a batch's records run
 * `concurrency` at a time; `syncRecord` applies one decoded record. Memory layers, TestClock; outcomes, errors, cache state and the
 * order of the ports' calls only.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as S3Event from "../src/S3Event.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as SyncModel from "./S3EventSyncModel.js"
import { intentRequest, memory, NOW, outcomes, prefix } from "./support/EventSyncMemory.js"

const unavailable = (operation: string, key: string) =>
  new DocumentCache.CacheError({ reason: "Unavailable", operation, key })

describe("S3EventSync edges", () => {
  it.effect("a dry run says what it would do for each record, reads no snapshot and writes nothing", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory({ dryRun: true })
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const gone = SyncModel.document(1, 1, "gone")
      const goneKey = `${prefix}changes/${gone.id}.json`
      let snapshots = 0
      const counted: DocumentCache.Service = {
        ...cache,
        snapshot: (kind, id) =>
          Effect.zipRight(
            Effect.sync(() => (snapshots += 1)),
            cache.snapshot(kind, id),
          ),
      }
      const result = yield* S3EventSync.processEvent(
        SyncModel.notification([
          { key, sequencer: "01" },
          { key: goneKey, sequencer: "02", eventName: "ObjectRemoved:Delete" },
        ]),
      ).pipe(Effect.provide(context({ cache: counted })))
      expect(outcomes(result)).toStrictEqual([
        { _tag: "DryRun", kind: doc.kind, id: doc.id, action: "put" },
        { _tag: "DryRun", kind: gone.kind, id: gone.id, action: "tombstone" },
      ])
      expect(snapshots).toBe(0)
      expect(yield* cache.get(doc.kind, doc.id, { includeExpired: true })).toStrictEqual(Option.none())
      expect(yield* cache.get(gone.kind, gone.id, { includeExpired: true })).toStrictEqual(Option.none())
    }),
  )

  it.effect("a record of no content change, and any record with the cache off, is skipped with its reason", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const doc = SyncModel.document(0, 1, "doc")
      const on = yield* memory()
      const { key } = yield* on.store.put(doc)
      const tagging = yield* S3EventSync.processEvent(
        SyncModel.notification([{ key, sequencer: "01", eventName: "ObjectTagging:Put" }]),
      ).pipe(Effect.provide(on.context()))
      expect(outcomes(tagging)).toStrictEqual([{ _tag: "Skipped", reason: "NoContentChange" }])
      expect(yield* on.cache.get(doc.kind, doc.id)).toStrictEqual(Option.none())
      const off = yield* memory({ cacheEnabled: false })
      yield* off.store.put(doc)
      const disabled = yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }])).pipe(
        Effect.provide(off.context()),
      )
      expect(outcomes(disabled)).toStrictEqual([{ _tag: "Skipped", reason: "CacheDisabled" }])
      expect(yield* off.cache.get(doc.kind, doc.id)).toStrictEqual(Option.none())
    }),
  )

  it.effect("the cache's snapshot failing fails the record with CacheFailed, naming the cause", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const broken: DocumentCache.Service = {
        ...cache,
        snapshot: (kind, id) => Effect.fail(unavailable("snapshot", `${kind}/${id}`)),
      }
      for (const sequencer of ["01", undefined]) {
        const result = yield* S3EventSync.processEvent(
          SyncModel.notification([sequencer === undefined ? { key } : { key, sequencer }]),
        ).pipe(Effect.provide(context({ cache: broken })))
        const [error] = outcomes(result)
        expect(error, String(sequencer)).toMatchObject({ _tag: "EventSyncError", reason: "CacheFailed", key })
        expect(String((error as { message?: unknown }).message)).toContain(
          unavailable("snapshot", `${doc.kind}/${doc.id}`).message,
        )
      }
      expect(yield* cache.get(doc.kind, doc.id)).toStrictEqual(Option.none())
    }),
  )

  it.effect(
    "an expired intent met by a record: S3 or the cache failing its resolution fails the record, naming which",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { cache, store, context } = yield* memory()
        const v1 = SyncModel.document(0, 1, "one")
        const { key } = yield* store.put(v1)
        yield* cache.put(v1, { s3Key: key })
        const v2 = { ...v1, version: 2, title: "two" }
        // A writer that stalled: its lease ran out before the record arrived.
        yield* cache.intend(intentRequest(v1, key, "w1", { _tag: "Put", document: v2, etag: "not-in-s3" }, NOW - 1))
        const event = SyncModel.notification([{ key, sequencer: "01" }])
        const noHead: DocumentStore.Service = {
          ...store,
          head: (k) =>
            Effect.fail(new DocumentStore.StoreError({ reason: "Unavailable", operation: "HeadObject", key: k })),
        }
        const s3 = outcomes(yield* S3EventSync.processEvent(event).pipe(Effect.provide(context({ store: noHead }))))
        expect(s3).toMatchObject([{ _tag: "EventSyncError", reason: "StoreFailed", key }])
        const noInspect: DocumentCache.Service = {
          ...cache,
          inspect: (kind, id) => Effect.fail(unavailable("inspect", `${kind}/${id}`)),
        }
        const inCache = outcomes(
          yield* S3EventSync.processEvent(event).pipe(Effect.provide(context({ cache: noInspect }))),
        )
        expect(inCache).toMatchObject([{ _tag: "EventSyncError", reason: "CacheFailed", key }])
        // Nothing was committed for the stalled writer either way.
        const slot = yield* cache.inspect(v1.kind, v1.id)
        expect(Option.map(slot.intent, (i) => i.writer)).toStrictEqual(Option.some("w1"))
      }),
  )

  it.effect("a record without a sequencer takes its snapshot before it reads S3; a sequenced one need not", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const calls: Array<string> = []
      const timed = <A, E>(name: string, effect: Effect.Effect<A, E>) =>
        Effect.suspend(() => {
          calls.push(`${name} start`)
          return Effect.ensuring(
            effect,
            Effect.sync(() => calls.push(`${name} end`)),
          )
        })
      const ports = context({
        cache: { ...cache, snapshot: (kind, id) => timed("snapshot", cache.snapshot(kind, id)) },
        store: { ...store, getKey: (k) => timed("s3", store.getKey(k)) },
      })
      // Without a sequencer the guard is what the cache stores: read it whole BEFORE S3, or a write
      // landing between the S3 read and a later snapshot would pass the guard with older content.
      yield* S3EventSync.processEvent(SyncModel.notification([{ key }])).pipe(Effect.provide(ports))
      expect(calls).toStrictEqual(["snapshot start", "snapshot end", "s3 start", "s3 end"])
      calls.length = 0
      // With one the snapshot runs beside the S3 read: both happen, in either order.
      yield* S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "05" }])).pipe(Effect.provide(ports))
      expect([...calls].sort()).toStrictEqual(["s3 end", "s3 start", "snapshot end", "snapshot start"])
    }),
  )

  it.effect("a batch's records run concurrency at a time: options.concurrency, else the default", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { store, context } = yield* memory()
      const keys: Array<string> = []
      for (let i = 0; i < 4; i++) keys.push((yield* store.put(SyncModel.document(i, 1, `doc ${i}`))).key)
      let reading = 0
      let most = 0
      // Each S3 read yields once while it counts as in flight, so concurrent records overlap there.
      const overlapping: DocumentStore.Service = {
        ...store,
        getKey: (k) =>
          Effect.suspend(() => {
            reading += 1
            most = Math.max(most, reading)
            return Effect.ensuring(
              Effect.zipRight(Effect.yieldNow(), store.getKey(k)),
              Effect.sync(() => {
                reading -= 1
              }),
            )
          }),
      }
      const event = SyncModel.notification(keys.map((key, i) => ({ key, sequencer: `0${i + 1}` })))
      const mostWith = (options: S3EventSync.Options) =>
        Effect.gen(function* () {
          most = 0
          yield* S3EventSync.processEvent(event, options).pipe(Effect.provide(context({ store: overlapping })))
          return most
        })
      expect(yield* mostWith({ concurrency: 2 })).toBe(2)
      expect(yield* mostWith({ concurrency: 1 })).toBe(1)
      // The default (16): all four at once.
      expect(yield* mostWith({})).toBe(4)
    }),
  )

  it.effect("syncRecord applies one decoded record on its own, as a batch of one would", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { cache, store, context } = yield* memory()
      const doc = SyncModel.document(0, 1, "doc")
      const { key } = yield* store.put(doc)
      const [entry] = Either.getOrThrow(S3Event.decode(SyncModel.notification([{ key, sequencer: "01" }]))).entries
      if (entry?._tag !== "Record") throw new Error(`not a record: ${entry?._tag}`)
      const outcome = yield* S3EventSync.syncRecord(entry.record).pipe(Effect.provide(context()))
      expect(outcome).toStrictEqual({ _tag: "Written", kind: doc.kind, id: doc.id, version: 1 })
      const cached = yield* cache.get(doc.kind, doc.id)
      expect(Option.map(cached, (e) => (e._tag === "Cached" ? e.summary.version : e._tag))).toStrictEqual(
        Option.some(1),
      )
    }),
  )
})

/**
 * Heal on the memory layers (TestClock): the sweep finds expired intents
 * through the intents index only, rolls forward what S3 holds, drops what it
 * does not, leaves live intents alone and counts `IntentsResolved` by outcome;
 * and the other resolvers (next writer, fallback read, event sync) settle an
 * abandoned intent the same way.
 *
 * Abandoned intents are made the way a dead writer leaves them: `intend`, then
 * (or not) the S3 put, and no commit.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Arbitraries from "../src/Arbitraries.js"
import type * as CacheEntry from "../src/CacheEntry.js"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as FaultInjection from "../src/FaultInjection.js"
import * as Heal from "../src/Heal.js"
import type * as S3Event from "../src/S3Event.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as WriteThrough from "../src/WriteThrough.js"

const quiet = Logger.minimumLogLevel(LogLevel.None)
const lease = 15_000

const base = fc.sample(Arbitraries.change({ maxTextLength: 20, ids: ["CHG-heal-0"] }), { numRuns: 1, seed: 5 })[0]!
const doc = (id: string, version: number): Document.AnyDocument => ({
  ...base,
  id,
  version,
  title: `${id} v${version}`,
})

const resolved = (outcome: string) =>
  Effect.map(Metric.value(Metric.tagged(CacheMetrics.intentsResolved, "outcome", outcome)), (s) => s.count)

/** Memory ports; the cache and store seen by Heal record every call (so a scan would show). */
const world = Effect.gen(function* () {
  const cache = yield* DocumentCache.makeMemory()
  const store = yield* DocumentStore.makeMemory()
  const plan = yield* FaultInjection.healthy
  return {
    cache,
    store,
    plan,
    watchedCache: FaultInjection.cache(cache, { plan }),
    watchedStore: FaultInjection.store(store, { plan }),
  }
}).pipe(Effect.provide(DocumentKind.layerDefault))

type World = Effect.Effect.Success<typeof world>

/** A committed document, written the way write-through leaves it (S3 and the cache agree). */
const committed = (w: World, document: Document.AnyDocument) =>
  Effect.gen(function* () {
    const out = yield* w.store.put(document)
    yield* w.cache.put(document, { s3Key: w.store.keyOf(document.kind, document.id), etag: out.etag })
  }).pipe(Effect.orDie)

/** What a writer that died after its intent leaves: the intent, and (when `landed`) its put in S3. */
const abandoned = (
  w: World,
  change:
    | { readonly _tag: "Put"; readonly document: Document.AnyDocument }
    | { readonly _tag: "Delete"; readonly id: string },
  options: { readonly landed: boolean; readonly leaseMillis?: number },
) =>
  Effect.gen(function* () {
    const now = yield* TestClock.currentTimeMillis
    const id = change._tag === "Put" ? change.document.id : change.id
    const s3Key = w.store.keyOf(base.kind, id)
    const writer = `dead-${id}`
    const leaseExpiresAt = now + (options.leaseMillis ?? lease)
    if (change._tag === "Put") {
      const etag = DocumentStore.expectedEtag(change.document)
      yield* w.cache.intend({
        kind: base.kind,
        id,
        writer,
        s3Key,
        leaseExpiresAt,
        change: { _tag: "Put", document: change.document, etag },
      })
      if (options.landed) yield* w.store.put(change.document)
    } else {
      yield* w.cache.intend({ kind: base.kind, id, writer, s3Key, leaseExpiresAt, change: { _tag: "Delete" } })
      if (options.landed) yield* w.store.delete(base.kind, id)
    }
    return writer
  }).pipe(Effect.orDie)

const slot = (w: World, id: string) => w.cache.inspect(base.kind, id).pipe(Effect.orDie)
const versionIn = (entry: Option.Option<CacheEntry.Entry>) =>
  Option.getOrUndefined(Option.map(entry, (e) => (e._tag === "Cached" ? e.summary.version : ("tombstone" as const))))

describe("Heal", () => {
  it.effect("sweep with progress counts the expired intents first: every report carries that total", () =>
    Effect.gen(function* () {
      const w = yield* world
      for (const id of ["CHG-p1", "CHG-p2", "CHG-p3"]) {
        yield* committed(w, doc(id, 1))
        yield* abandoned(w, { _tag: "Put", document: doc(id, 2) }, { landed: id === "CHG-p1" })
      }
      yield* TestClock.adjust(`${lease} millis`)
      // Live: neither counted nor resolved.
      yield* abandoned(w, { _tag: "Put", document: doc("CHG-p4", 2) }, { landed: false, leaseMillis: 10_000 })
      const seen: Array<Heal.SweepProgress> = []
      const report = yield* Heal.sweep({ onProgress: (p) => Effect.sync(() => seen.push(p)) }).pipe(
        Effect.provideService(DocumentCache.DocumentCache, w.cache),
        Effect.provideService(DocumentStore.DocumentStore, w.store),
      )
      expect(report).toEqual({ found: 3, rolledForward: 1, dropped: 2, gone: 0, failed: 0 })
      expect(seen.map((p) => [p.found, p.total])).toEqual([
        [0, 3],
        [1, 3],
        [2, 3],
        [3, 3],
      ])
      // Nothing expired left: the count is 0 and said once.
      const empty: Array<Heal.SweepProgress> = []
      yield* Heal.sweep({ onProgress: (p) => Effect.sync(() => empty.push(p)) }).pipe(
        Effect.provideService(DocumentCache.DocumentCache, w.cache),
        Effect.provideService(DocumentStore.DocumentStore, w.store),
      )
      expect(empty).toEqual([{ found: 0, rolledForward: 0, dropped: 0, gone: 0, failed: 0, total: 0 }])
    }).pipe(Effect.provide(quiet)),
  )

  it.effect(
    "sweep resolves expired intents from the intents index only (no scan): rolls forward, drops, leaves live ones, counts by outcome",
    () =>
      Effect.gen(function* () {
        const w = yield* world
        const before = { forward: yield* resolved("rolled-forward"), dropped: yield* resolved("dropped") }
        // v1 committed everywhere; dead writers of v2 whose put landed, and whose put never arrived.
        yield* committed(w, doc("CHG-landed", 1))
        yield* committed(w, doc("CHG-lost", 1))
        yield* committed(w, doc("CHG-deleted", 1))
        yield* committed(w, doc("CHG-live", 1))
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-landed", 2) }, { landed: true })
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-lost", 2) }, { landed: false })
        yield* abandoned(w, { _tag: "Delete", id: "CHG-deleted" }, { landed: true })
        // Their leases end at exactly this instant: expired (as `resolve` and the writers count it).
        yield* TestClock.adjust(`${lease} millis`)
        // A writer still at work: its lease runs for another 10 s.
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-live", 2) }, { landed: false, leaseMillis: 10_000 })

        const report = yield* Heal.sweep().pipe(
          Effect.provideService(DocumentCache.DocumentCache, w.watchedCache),
          Effect.provideService(DocumentStore.DocumentStore, w.watchedStore),
        )
        expect(report).toEqual({ found: 3, rolledForward: 2, dropped: 1, gone: 0, failed: 0 })

        const landed = yield* slot(w, "CHG-landed")
        expect([versionIn(landed.entry), landed.intent]).toEqual([2, Option.none()])
        const lost = yield* slot(w, "CHG-lost")
        expect([versionIn(lost.entry), lost.intent]).toEqual([1, Option.none()])
        const deleted = yield* slot(w, "CHG-deleted")
        expect([versionIn(deleted.entry), deleted.intent]).toEqual(["tombstone", Option.none()])
        const live = yield* slot(w, "CHG-live")
        expect(versionIn(live.entry)).toBe(1)
        expect(Option.map(live.intent, (i) => i.writer)).toEqual(Option.some("dead-CHG-live"))

        // Found through the intents index: one read of it, no scan or query, and no look at the live intent.
        const calls = (yield* w.plan.calls).map((c) => `${c.port}.${c.operation}`)
        expect(calls.filter((c) => c === "cache.intents")).toHaveLength(1)
        expect(calls.filter((c) => c === "cache.scan" || c === "cache.query" || c === "cache.page")).toEqual([])
        expect((yield* w.plan.calls).filter((c) => c.key.includes("CHG-live"))).toEqual([])
        expect(yield* resolved("rolled-forward")).toBe(before.forward + 2)
        expect(yield* resolved("dropped")).toBe(before.dropped + 1)

        // Nothing left: a second sweep finds nothing.
        const again = yield* Heal.sweep().pipe(
          Effect.provideService(DocumentCache.DocumentCache, w.cache),
          Effect.provideService(DocumentStore.DocumentStore, w.store),
        )
        expect(again.found).toBe(0)
      }).pipe(Effect.provide(quiet)),
  )

  it.effect(
    "resolve: a live intent is left alone ('gone'), an expired delete intent whose object is still there is dropped",
    () =>
      Effect.gen(function* () {
        const w = yield* world
        yield* committed(w, doc("CHG-r", 1))
        const writer = yield* abandoned(w, { _tag: "Delete", id: "CHG-r" }, { landed: false })
        const intent = Option.getOrThrow((yield* slot(w, "CHG-r")).intent)
        expect(yield* Heal.resolve(w.cache, w.store, { kind: base.kind, id: "CHG-r", intent }, "sweep")).toBe("gone")
        expect(Option.map((yield* slot(w, "CHG-r")).intent, (i) => i.writer)).toEqual(Option.some(writer))
        yield* TestClock.adjust(`${lease} millis`)
        expect(yield* Heal.resolve(w.cache, w.store, { kind: base.kind, id: "CHG-r", intent }, "sweep")).toBe("dropped")
        const after = yield* slot(w, "CHG-r")
        expect([versionIn(after.entry), after.intent]).toEqual([1, Option.none()])
        // Once settled, the same intent is 'gone'.
        expect(yield* Heal.resolve(w.cache, w.store, { kind: base.kind, id: "CHG-r", intent }, "sweep")).toBe("gone")
      }).pipe(Effect.provide(quiet)),
  )

  it.effect("the next writer resolves an expired intent (rolled forward) and then writes", () =>
    Effect.gen(function* () {
      const w = yield* world
      const forward = yield* resolved("rolled-forward")
      yield* committed(w, doc("CHG-w", 1))
      yield* abandoned(w, { _tag: "Put", document: doc("CHG-w", 2) }, { landed: true })
      yield* TestClock.adjust(`${lease} millis`)
      const writeThrough = yield* WriteThrough.make.pipe(
        Effect.provideService(DocumentCache.DocumentCache, w.cache),
        Effect.provideService(DocumentStore.DocumentStore, w.store),
        Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test" })),
      )
      const result = yield* writeThrough.write(doc("CHG-w", 3))
      expect(result).toMatchObject({ _tag: "Written", version: 3 })
      // The write replaced the rolled-forward v2, exactly (the previous entry it reports).
      expect(result._tag === "Written" && versionIn(result.previous)).toBe(2)
      expect(yield* resolved("rolled-forward")).toBe(forward + 1)
      const after = yield* slot(w, "CHG-w")
      expect([versionIn(after.entry), after.intent]).toEqual([3, Option.none()])
    }).pipe(Effect.provide(quiet)),
  )

  it.scoped("a fallback read answers committed state and resolves an expired intent in the background", () =>
    Effect.gen(function* () {
      const w = yield* world
      const dropped = yield* resolved("dropped")
      yield* committed(w, doc("CHG-read", 1))
      yield* abandoned(w, { _tag: "Put", document: doc("CHG-read", 2) }, { landed: false })
      const reader = yield* FallbackReader.make.pipe(
        Effect.provideService(DocumentCache.DocumentCache, w.cache),
        Effect.provideService(DocumentStore.DocumentStore, w.store),
        Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test" })),
        Effect.provide(DocumentKind.layerDefault),
      )
      // Live: the read shows v1 and leaves the intent.
      const early = yield* reader.read(base.kind, "CHG-read")
      yield* reader.awaitRefills
      expect(Option.map(early, (r) => [r.source, r.document.version])).toEqual(Option.some(["cache", 1]))
      expect(Option.isSome((yield* slot(w, "CHG-read")).intent)).toBe(true)
      yield* TestClock.adjust(`${lease} millis`)
      const late = yield* reader.read(base.kind, "CHG-read")
      expect(Option.map(late, (r) => [r.source, r.document.version])).toEqual(Option.some(["cache", 1]))
      yield* reader.awaitRefills
      expect((yield* slot(w, "CHG-read")).intent).toEqual(Option.none())
      expect(yield* resolved("dropped")).toBe(dropped + 1)
    }).pipe(Effect.provide(quiet)),
  )

  it.effect("event sync commits a live intent whose put it sees in S3, and resolves an expired one it meets", () =>
    Effect.gen(function* () {
      const w = yield* world
      const committedForWriter = yield* resolved("committed-for-writer")
      yield* committed(w, doc("CHG-ev-live", 1))
      yield* committed(w, doc("CHG-ev-dead", 1))
      yield* abandoned(w, { _tag: "Put", document: doc("CHG-ev-live", 2) }, { landed: true, leaseMillis: 60_000 })
      yield* abandoned(w, { _tag: "Put", document: doc("CHG-ev-dead", 2) }, { landed: true })
      yield* TestClock.adjust(`${lease} millis`)
      const event = (id: string): S3Event.EventRecord => ({
        source: "s3",
        location: "Records[0]",
        bucket: "test",
        key: w.store.keyOf(base.kind, id),
        rawKey: w.store.keyOf(base.kind, id),
        eventName: "ObjectCreated:Put",
        eventType: "created",
        sequencer: Option.none(),
        eventTime: "2026-12-01T00:00:00Z",
        eventTimeMillis: 0,
      })
      const sync = (id: string) =>
        // A resolved intent makes event sync converge again (a retry): without delays, on the TestClock.
        S3EventSync.syncRecord(event(id), { retry: FaultInjection.immediateRetry(3) }).pipe(
          Effect.provideService(DocumentCache.DocumentCache, w.cache),
          Effect.provideService(DocumentStore.DocumentStore, w.store),
          Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test" })),
          Effect.provide(DocumentKind.layerDefault),
        )
      yield* sync("CHG-ev-live")
      yield* sync("CHG-ev-dead")
      for (const id of ["CHG-ev-live", "CHG-ev-dead"]) {
        const after = yield* slot(w, id)
        expect([id, versionIn(after.entry), after.intent]).toEqual([id, 2, Option.none()])
      }
      expect(yield* resolved("committed-for-writer")).toBe(committedForWriter + 1)
    }).pipe(Effect.provide(quiet)),
  )
  it.effect(
    "resolve drops an intent to S3's state: nothing in S3 commits a tombstone, the committed ETag costs one HEAD, other content in S3 is committed, another writer's intent is 'gone'",
    () =>
      Effect.gen(function* () {
        const w = yield* world
        // S3's object deleted behind Docket while a dead writer's put of v2 never arrived.
        yield* committed(w, doc("CHG-d-vanished", 1))
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-d-vanished", 2) }, { landed: false })
        yield* w.store.delete(base.kind, "CHG-d-vanished").pipe(Effect.orDie)
        // Nothing committed, and S3 holds an object no intent or entry knows (its put's event not yet synced).
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-d-fresh", 2) }, { landed: false })
        yield* w.store.put(doc("CHG-d-fresh", 1)).pipe(Effect.orDie)
        // Nothing committed and nothing in S3: only the intent goes.
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-d-empty", 1) }, { landed: false })
        // S3 still holds the committed v1: the intent goes, v1 stays, without reading the body.
        yield* committed(w, doc("CHG-d-same", 1))
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-d-same", 2) }, { landed: false })
        // A foreign v3 in S3 (neither the committed v1 nor the intent's v2): the cache takes S3's v3.
        yield* committed(w, doc("CHG-d-foreign", 1))
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-d-foreign", 2) }, { landed: false })
        yield* w.store.put(doc("CHG-d-foreign", 3)).pipe(Effect.orDie)
        // An expired delete intent whose delete reached S3: a tombstone that lives tombstoneTtlSeconds.
        yield* committed(w, doc("CHG-d-deleted", 1))
        yield* abandoned(w, { _tag: "Delete", id: "CHG-d-deleted" }, { landed: true })
        yield* TestClock.adjust(`${lease} millis`)
        const now = yield* TestClock.currentTimeMillis

        const resolveOne = (id: string) =>
          Effect.gen(function* () {
            const intent = Option.getOrThrow((yield* slot(w, id)).intent)
            return yield* Heal.resolve(w.watchedCache, w.watchedStore, { kind: base.kind, id, intent }, "sweep")
          }).pipe(Effect.orDie)
        const storeCalls = (id: string) =>
          Effect.map(w.plan.calls, (calls) =>
            calls.filter((c) => c.port === "store" && c.key.includes(id)).map((c) => c.operation),
          )

        expect(yield* resolveOne("CHG-d-vanished")).toBe("dropped")
        const vanished = yield* slot(w, "CHG-d-vanished")
        expect([versionIn(vanished.entry), vanished.intent]).toEqual(["tombstone", Option.none()])
        const vanishedTombstone = Option.getOrThrow(vanished.entry)
        expect(vanishedTombstone._tag === "Tombstone" ? vanishedTombstone.expiresAt : undefined).toBe(
          Math.floor(now / 1000) + Heal.tombstoneTtlSeconds,
        )

        expect(yield* resolveOne("CHG-d-fresh")).toBe("dropped")
        const fresh = yield* slot(w, "CHG-d-fresh")
        expect([versionIn(fresh.entry), fresh.intent]).toEqual([1, Option.none()])

        expect(yield* resolveOne("CHG-d-empty")).toBe("dropped")
        expect(yield* slot(w, "CHG-d-empty")).toEqual({ entry: Option.none(), intent: Option.none() })

        expect(yield* resolveOne("CHG-d-same")).toBe("dropped")
        const same = yield* slot(w, "CHG-d-same")
        expect([versionIn(same.entry), same.intent]).toEqual([1, Option.none()])
        expect(yield* storeCalls("CHG-d-same")).toEqual(["HeadObject"])

        expect(yield* resolveOne("CHG-d-foreign")).toBe("dropped")
        const foreign = yield* slot(w, "CHG-d-foreign")
        expect([versionIn(foreign.entry), foreign.intent]).toEqual([3, Option.none()])
        // One HEAD, one GET: what S3 holds is read once.
        expect((yield* storeCalls("CHG-d-foreign")).sort()).toEqual(["GetObject", "HeadObject"])

        expect(yield* resolveOne("CHG-d-deleted")).toBe("rolled-forward")
        const deleted = yield* slot(w, "CHG-d-deleted")
        expect(deleted.intent).toEqual(Option.none())
        const tombstone = Option.getOrThrow(deleted.entry)
        expect(tombstone._tag).toBe("Tombstone")
        expect(tombstone._tag === "Tombstone" ? tombstone.expiresAt : undefined).toBe(
          Math.floor(now / 1000) + Heal.tombstoneTtlSeconds,
        )

        // A stale view of a settled intent, met while another writer's intent (expired too) is there:
        // 'gone', and the other writer's intent is not touched.
        yield* committed(w, doc("CHG-d-next", 1))
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-d-next", 2) }, { landed: false })
        yield* TestClock.adjust(`${lease} millis`)
        const first = Option.getOrThrow((yield* slot(w, "CHG-d-next")).intent)
        expect(yield* resolveOne("CHG-d-next")).toBe("dropped")
        const s3Key = w.store.keyOf(base.kind, "CHG-d-next")
        yield* w.cache
          .intend({
            kind: base.kind,
            id: "CHG-d-next",
            writer: "other-writer",
            s3Key,
            leaseExpiresAt: (yield* TestClock.currentTimeMillis) + 1000,
            change: {
              _tag: "Put",
              document: doc("CHG-d-next", 3),
              etag: DocumentStore.expectedEtag(doc("CHG-d-next", 3)),
            },
          })
          .pipe(Effect.orDie)
        yield* TestClock.adjust("2 seconds")
        expect(
          yield* Heal.resolve(w.cache, w.store, { kind: base.kind, id: "CHG-d-next", intent: first }, "sweep").pipe(
            Effect.orDie,
          ),
        ).toBe("gone")
        expect(Option.map((yield* slot(w, "CHG-d-next")).intent, (i) => i.writer)).toEqual(Option.some("other-writer"))
      }).pipe(Effect.provide(quiet)),
  )

  it.effect(
    "meet: a live intent whose change S3 shows is committed for its writer (put: its ETag; delete: no object); anything else is left pending",
    () =>
      Effect.gen(function* () {
        const w = yield* world
        const live = { landed: true, leaseMillis: 60_000 }
        const seenOf = (id: string) =>
          Effect.map(w.store.get(base.kind, id), (stored) =>
            Option.map(stored, (s) => ({ document: s.document, etag: s.etag, key: s.key })),
          ).pipe(Effect.orDie)
        const meet = (id: string, seen: Effect.Effect.Success<ReturnType<typeof seenOf>>) =>
          Heal.meet(w.cache, w.store, base.kind, id, seen, "event-sync").pipe(Effect.orDie)

        expect(yield* meet("CHG-m-none", Option.none())).toBe("none")

        yield* committed(w, doc("CHG-m-put", 1))
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-m-put", 2) }, live)
        expect(yield* meet("CHG-m-put", yield* seenOf("CHG-m-put"))).toBe("committed")
        const put = yield* slot(w, "CHG-m-put")
        expect([versionIn(put.entry), put.intent]).toEqual([2, Option.none()])

        // S3 shows another object than the intent's put (its v2 did not land; a foreign v5 did).
        yield* committed(w, doc("CHG-m-other", 1))
        yield* abandoned(w, { _tag: "Put", document: doc("CHG-m-other", 2) }, { landed: false, leaseMillis: 60_000 })
        yield* w.store.put(doc("CHG-m-other", 5)).pipe(Effect.orDie)
        expect(yield* meet("CHG-m-other", yield* seenOf("CHG-m-other"))).toBe("pending")
        // ... or no object at all, for a put intent.
        expect(yield* meet("CHG-m-other", Option.none())).toBe("pending")
        expect(versionIn((yield* slot(w, "CHG-m-other")).entry)).toBe(1)

        yield* committed(w, doc("CHG-m-del", 1))
        yield* abandoned(w, { _tag: "Delete", id: "CHG-m-del" }, live)
        expect(yield* meet("CHG-m-del", Option.none())).toBe("committed")
        const del = yield* slot(w, "CHG-m-del")
        expect([versionIn(del.entry), del.intent]).toEqual(["tombstone", Option.none()])
        const tombstone = Option.getOrThrow(del.entry)
        expect(tombstone._tag === "Tombstone" ? tombstone.expiresAt : undefined).toBe(
          Math.floor((yield* TestClock.currentTimeMillis) / 1000) + Heal.tombstoneTtlSeconds,
        )

        // A delete intent while S3 still has the object: pending.
        yield* committed(w, doc("CHG-m-del2", 1))
        yield* abandoned(w, { _tag: "Delete", id: "CHG-m-del2" }, { landed: false, leaseMillis: 60_000 })
        expect(yield* meet("CHG-m-del2", yield* seenOf("CHG-m-del2"))).toBe("pending")
        expect(versionIn((yield* slot(w, "CHG-m-del2")).entry)).toBe(1)
      }).pipe(Effect.provide(quiet)),
  )
})

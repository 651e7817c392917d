/**
 * Writes racing a refill (issue #11): a fallback read misses, reads S3, and before
 * its background refill lands, other writers change the document (write-through
 * writes and deletes, an object replaced or deleted behind Docket's back and synced
 * by its event). Whatever races, once everything settled the cache holds no live entry
 * that disagrees with S3 (invariants 1 and 3: the refill never resurrects a delete
 * or rolls back a newer write), and the read itself returned S3's document as of
 * its read.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocketConfig from "../src/DocketConfig.js"
import * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as RateLimit from "../src/RateLimit.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as WriteThrough from "../src/WriteThrough.js"
import * as SyncModel from "./S3EventSyncModel.js"
import { yieldTurn } from "./support/EventLoop.js"

const quiet = Logger.minimumLogLevel(LogLevel.None)
const base = fc.sample(Arbitraries.change({ maxTextLength: 12, ids: ["CHG-race-1"] }), { numRuns: 1, seed: 11 })[0]!
const versionOf = (version: number): Document.AnyDocument => ({
  ...base,
  version,
  title: `v${version}`,
  // Far in the future: never expired by the retention window.
  schedule: { start: "2099-01-01T00:00:00Z", end: "2099-01-01T01:00:00Z" },
})

/** What happens between the reader's S3 read and its refill. */
type Race =
  | { readonly _tag: "Write"; readonly version: number }
  | { readonly _tag: "Delete" }
  /** An object written (or deleted) behind Docket's back, and its event synced. */
  | { readonly _tag: "ExternalPut"; readonly version: number }
  | { readonly _tag: "ExternalDelete" }

const race: fc.Arbitrary<Race> = fc.oneof(
  fc.record({ _tag: fc.constant("Write" as const), version: fc.integer({ min: 1, max: 4 }) }),
  // A write-through delete between the read's S3 read and its refill (issue #11's race): the delete's intent,
  // then its tombstone, refuse the refill.
  fc.constant<Race>({ _tag: "Delete" }),
  fc.record({ _tag: fc.constant("ExternalPut" as const), version: fc.integer({ min: 1, max: 4 }) }),
  fc.constant<Race>({ _tag: "ExternalDelete" }),
)

/** A store whose next `get` (the reader's read of S3) runs the races after reading. */
const hooked = (store: DocumentStore.Service) => {
  let hook: Effect.Effect<void> | undefined
  const service: DocumentStore.Service = {
    ...store,
    get: (kind, id) =>
      Effect.tap(store.get(kind, id), () => {
        const run = hook
        hook = undefined
        return run ?? Effect.void
      }),
  }
  return {
    service,
    arm: (effect: Effect.Effect<void>) => {
      hook = effect
    },
    disarm: () => {
      hook = undefined
    },
  }
}

const settings = DocketConfig.make({ bucket: "docs" })

describe("FallbackReader with writes racing its refill", () => {
  it.effect.prop(
    "once a refill and the writes racing it settle, the cache holds no live entry that disagrees with S3",
    [fc.integer({ min: 1, max: 3 }), fc.array(race, { minLength: 1, maxLength: 3 })],
    ([initial, races]) =>
      Effect.gen(function* () {
        // Let the test runner's worker breathe between runs (the memory layers never yield to
        // the event loop, and a loaded machine then times out the worker's RPC).
        yield* yieldTurn
        const kinds = Layer.succeed(DocumentKind.DocumentKinds, DocumentKind.defaultRegistry)
        const config = DocketConfig.layer(settings)
        const ports = Layer.mergeAll(
          DocumentCache.layerMemory({ retentionDays: settings.ttlDays }),
          DocumentStore.layerMemory({ prefix: settings.prefix, bucket: settings.bucket }),
          RateLimit.layerUnlimited,
        ).pipe(Layer.provideMerge(Layer.merge(config, kinds)))
        const context = yield* Layer.build(ports)
        const cache = Context.get(context, DocumentCache.DocumentCache)
        const store = Context.get(context, DocumentStore.DocumentStore)
        const hook = hooked(store)
        const readerContext = yield* Layer.build(
          FallbackReader.layer.pipe(
            Layer.provide(Layer.succeed(DocumentStore.DocumentStore, hook.service)),
            Layer.provide(Layer.succeedContext(context)),
          ),
        )
        const reader = Context.get(readerContext, FallbackReader.FallbackReader)
        const writerContext = yield* Layer.build(WriteThrough.layer.pipe(Layer.provide(Layer.succeedContext(context))))
        const writer = Context.get(writerContext, WriteThrough.WriteThrough)

        const doc = versionOf(initial)
        yield* store.put(doc)
        const key = store.keyOf(doc.kind, doc.id)
        let sequencer = 0x100n
        const sync = (deleted: boolean) => {
          sequencer += 1n
          return S3EventSync.processEvent(
            SyncModel.notification(
              [
                {
                  key,
                  sequencer: sequencer.toString(16),
                  eventName: deleted ? "ObjectRemoved:Delete" : "ObjectCreated:Put",
                },
              ],
              settings.bucket,
            ),
          ).pipe(Effect.provide(Layer.succeedContext(context)), Effect.asVoid)
        }
        const apply = (r: Race): Effect.Effect<void, unknown> => {
          switch (r._tag) {
            case "Write":
              return Effect.ignore(writer.write(versionOf(r.version)))
            case "Delete":
              return Effect.ignore(writer.delete(doc.kind, doc.id))
            case "ExternalPut":
              return Effect.zipRight(store.put(versionOf(r.version)), sync(false))
            case "ExternalDelete":
              return Effect.zipRight(store.delete(doc.kind, doc.id), sync(true))
          }
        }
        const before = yield* store.get(doc.kind, doc.id)
        hook.arm(Effect.orDie(Effect.forEach(races, apply, { discard: true })))
        const read = yield* reader.read(doc.kind, doc.id)
        hook.disarm()
        yield* reader.awaitRefills
        // The read answered S3's document as it was when read (before the races).
        expect(Option.map(read, (r) => r.document.version)).toStrictEqual(Option.map(before, (s) => s.document.version))
        const s3 = yield* store.get(doc.kind, doc.id)
        const cached = yield* cache.get(doc.kind, doc.id)
        const live = Option.isSome(cached) && cached.value._tag === "Cached" ? cached.value.document : undefined
        if (live !== undefined) {
          expect(Option.isSome(s3), `the cache holds v${live.version}, S3 has no object`).toBe(true)
          if (Option.isSome(s3)) {
            expect(
              Document.sameContent(live, s3.value.document),
              `the cache holds v${live.version}, S3 v${s3.value.document.version}`,
            ).toBe(true)
          }
        }
      }).pipe(Effect.scoped, Effect.provide(quiet)),
    { fastCheck: { numRuns: 200 } },
  )
})

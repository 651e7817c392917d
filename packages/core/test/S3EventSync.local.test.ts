/**
 * The event-sync convergence property (DESIGN invariant 2) against the real
 * backends on the local stack: DynamoDB Local and the S3 emulator. Fewer runs
 * than the memory run (each run is a few dozen real calls). Then the requests
 * one record makes, counted on the wire by a proxy.
 */
import * as CountingProxy from "@docket/local/CountingProxy"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as DocketConfig from "../src/DocketConfig.js"
import * as DynamoDBCache from "../src/DocumentCache/DynamoDB.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3Store from "../src/DocumentStore/S3.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as RateLimit from "../src/RateLimit.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as SyncModel from "./S3EventSyncModel.js"
import * as Counted from "./support/Counted.js"

let isolated: Testing.Isolated
beforeAll(async () => {
  isolated = await Testing.isolated("event-sync")
})

let run = 0

describe("S3EventSync on the local stack", () => {
  it.live.prop(
    "any order, duplication and delay of a key's events ends with the cache equal to S3 (DynamoDB Local + S3 emulator)",
    [SyncModel.scenario],
    ([scenario]) =>
      Effect.gen(function* () {
        run += 1
        // A fresh prefix per run keeps S3 apart; the cache items (keyed by kind and id) are cleared.
        const prefix = `${SyncModel.prefix}run ${run}/`
        const settings = DocketConfig.make({ bucket: isolated.bucket, table: isolated.table, prefix, maxAttempts: 3 })
        const retry = { maxAttempts: 3, base: "20 millis", cap: "200 millis" } as const
        const backends = Layer.mergeAll(
          DynamoDBCache.layer({
            table: isolated.table,
            retentionDays: settings.ttlDays,
            retry,
            client: { ...isolated.clientConfig.dynamodb },
          }),
          S3Store.layer({ bucket: isolated.bucket, prefix, retry, clientConfig: { ...isolated.clientConfig.s3 } }),
        ).pipe(
          Layer.provideMerge(
            Layer.mergeAll(DocumentKind.layerDefault, RateLimit.layerUnlimited, DocketConfig.layer(settings)),
          ),
        )
        yield* Effect.gen(function* () {
          const cache = yield* DocumentCache.DocumentCache
          const store = yield* DocumentStore.DocumentStore
          for (const [kind, id] of [
            ["change", "CHG-a"],
            ["change", "CHG-b-2"],
            ["announcement", "ANN-c"],
          ] as const) {
            yield* cache.delete(kind, id)
          }
          const hooks = SyncModel.withReadHook(store)
          yield* SyncModel.run(scenario, {
            store,
            hooks,
            bucket: isolated.bucket,
            process: (event) =>
              S3EventSync.processEvent(event, { retry }).pipe(
                Effect.provideService(DocumentStore.DocumentStore, hooks.store),
                Effect.orDie,
              ),
          })
          yield* SyncModel.expectConverged(store, cache)
        }).pipe(Effect.provide(backends))
      }),
    { timeout: 240_000, fastCheck: { numRuns: 15 } },
  )
})

describe("S3EventSync requests per record (counted by a proxy)", () => {
  let proxied: CountingProxy.Around
  let counting: Testing.Isolated
  beforeAll(async () => {
    counting = await Testing.isolated("event-sync-requests")
    proxied = await CountingProxy.around(Testing.endpoints())
  })
  afterAll(async () => {
    await proxied?.close()
  })

  it.live(
    "each record is one GetObject, one consistent GetItem and one transaction: puts, tombstones and records without a sequencer",
    () =>
      Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        const store = yield* DocumentStore.DocumentStore
        const v1 = SyncModel.document(0, 1, "alpha")
        const key = store.keyOf(v1.kind, v1.id)
        const sync = (sequencer: string | undefined, eventName?: string) =>
          Counted.counted(
            proxied,
            S3EventSync.processEvent(
              SyncModel.notification(
                [{ key, ...(sequencer !== undefined ? { sequencer } : {}), ...(eventName ? { eventName } : {}) }],
                counting.bucket,
              ),
            ),
          ).pipe(
            Effect.map(({ result, s3, dynamodb }) => ({
              outcome: result.results.map((r) =>
                r.result._tag === "Right" ? r.result.right._tag : r.result.left._tag,
              ),
              s3: s3.byOperation,
              dynamodb: dynamodb.byOperation,
            })),
          )
        const once = { s3: { GetObject: 1 }, dynamodb: { GetItem: 1, TransactWriteItems: 1 } }
        yield* store.put(v1)
        expect(yield* sync("01")).toStrictEqual({ outcome: ["Written"], ...once })
        yield* store.put(SyncModel.document(0, 2, "beta"))
        expect(yield* sync("02")).toStrictEqual({ outcome: ["Written"], ...once })
        // A duplicate: read both, nothing to write.
        expect(yield* sync("02")).toStrictEqual({
          outcome: ["Unchanged"],
          s3: { GetObject: 1 },
          dynamodb: { GetItem: 1 },
        })
        yield* store.delete(v1.kind, v1.id)
        expect(yield* sync("03", "ObjectRemoved:Delete")).toStrictEqual({ outcome: ["Tombstoned"], ...once })
        yield* store.put(SyncModel.document(0, 3, "gamma é"))
        // No sequencer: the cache is read first (the guard), then S3, then the one write.
        expect(yield* sync(undefined)).toStrictEqual({ outcome: ["Written"], ...once })
        const cached = yield* cache.get(v1.kind, v1.id)
        expect(cached._tag === "Some" && cached.value._tag === "Cached" && cached.value.summary.version).toBe(3)
      }).pipe(
        Effect.provide(Layer.suspend(() => Counted.layer(proxied, counting, { prefix: SyncModel.prefix }))),
        Effect.provide(Logger.minimumLogLevel(LogLevel.Warning)),
      ),
  )
})

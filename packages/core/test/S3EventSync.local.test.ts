/**
 * The event-sync convergence property (DESIGN invariant 2) against the real
 * backends on the local stack: DynamoDB Local and the S3 emulator. Fewer runs
 * than the memory run (each run is a few dozen real calls).
 */
import * as Testing from "@docket/local/Testing"
import { beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as DocketConfig from "../src/DocketConfig.js"
import * as DynamoDBCache from "../src/DocumentCache/DynamoDB.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3Store from "../src/DocumentStore/S3.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as RateLimit from "../src/RateLimit.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as SyncModel from "./S3EventSyncModel.js"

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

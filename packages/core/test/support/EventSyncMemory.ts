/**
 * The memory setup the event-sync path and edge tests share (`S3EventSync.paths`,
 * `S3EventSync.edges`, `S3EventSync.signals`): the bucket and prefix of the sync model, a fixed instant,
 * a fresh memory cache and store with a `context` that provides them (or given
 * replacements) beside the settings, a batch's outcomes in record order, and another
 * writer's intent on a document (`intentRequest`; expired with `leaseExpiresAt: NOW - 1`).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as DocketConfig from "../../src/DocketConfig.js"
import * as DocumentCache from "../../src/DocumentCache.js"
import * as DocumentKind from "../../src/DocumentKind.js"
import * as DocumentStore from "../../src/DocumentStore.js"
import type * as S3EventSync from "../../src/S3EventSync.js"
import * as SyncModel from "../S3EventSyncModel.js"

export const bucket = "docs"
export const prefix = SyncModel.prefix
export const NOW = Date.parse("2026-12-01T00:00:00Z")

/** Fresh memory cache and store; `context` provides them, or the given replacements. */
export const memory = (settings: Partial<DocketConfig.Settings> = {}) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory({ prefix, bucket })
    const context = (over: { cache?: DocumentCache.Service; store?: DocumentStore.Service } = {}) =>
      Layer.mergeAll(
        Layer.succeed(DocumentCache.DocumentCache, over.cache ?? cache),
        Layer.succeed(DocumentStore.DocumentStore, over.store ?? store),
        DocketConfig.layer(DocketConfig.make({ bucket, prefix, maxAttempts: 1, ...settings })),
        DocumentKind.layerDefault,
      )
    return { cache, store, context }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

/** Each record's outcome or error, in record order. */
export const outcomes = (result: S3EventSync.BatchResult) =>
  result.results.map((r) => (Either.isRight(r.result) ? r.result.right : r.result.left))

/** Another writer's intent on `doc` at `key`: live for 15 s from {@link NOW} unless `leaseExpiresAt` is given. */
export const intentRequest = (
  doc: ReturnType<typeof SyncModel.document>,
  key: string,
  writer: string,
  change: DocumentCache.IntentRequest["change"],
  leaseExpiresAt = NOW + 15_000,
): DocumentCache.IntentRequest => ({ kind: doc.kind, id: doc.id, writer, s3Key: key, leaseExpiresAt, change })

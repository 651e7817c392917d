/**
 * The distributed backfill paths (DESIGN section 6): the same per-object step
 * as `docket backfill` (core's `Backfill.processObjects`: compare with the
 * cache in batches of 100, read and write only what differs), run by AWS's own
 * engines over a bucket of 100 million objects.
 *
 * - **S3 Batch Operations** (invocation schema 2.0): `{ invocationSchemaVersion:
 *   "2.0", invocationId, job, tasks: [{ taskId, s3BucketName, s3Key, ... }] }`.
 *   Keys arrive URL-encoded. Every task gets a `resultCode`: `Succeeded`
 *   (written, unchanged, newer in the cache, or not a document), `TemporaryFailure`
 *   (throttling, unavailability: Batch Operations retries it) or
 *   `PermanentFailure` (an undecodable body, another bucket), with a
 *   `resultString` saying what happened; the job's completion report lists them.
 * - **Step Functions Distributed Map** over an S3 Inventory manifest, with an
 *   item batcher: `{ BatchInput: { docket: "backfill", ... }, Items: [{ Key,
 *   ETag?, ... }] }`. The invocation answers a summary; it fails (so the Map's
 *   retry policy runs it again) when any object failed retryably, and reports
 *   permanent failures in its result (the Map's ResultWriter keeps them).
 *
 * @since 0.2.0
 */
import * as Backfill from "@docket/core/Backfill"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as DocumentCache from "@docket/core/DocumentCache"
import type * as DocumentKind from "@docket/core/DocumentKind"
import type * as DocumentStore from "@docket/core/DocumentStore"
import * as MetricsExport from "@docket/core/MetricsExport"
import * as OperationLog from "@docket/core/OperationLog"
import * as S3Key from "@docket/core/S3Key"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { isBatchOperations } from "./Route.js"

/** One task of an S3 Batch Operations invocation (schema 2.0). */
export const BatchTask = Schema.Struct({
  taskId: Schema.String,
  s3BucketName: Schema.String,
  s3Key: Schema.String,
  s3VersionId: Schema.optional(Schema.NullOr(Schema.String)),
})

/** An S3 Batch Operations invocation of a Lambda function, schema 2.0. */
export const BatchOperationsEvent = Schema.Struct({
  invocationSchemaVersion: Schema.Literal("2.0"),
  invocationId: Schema.String,
  job: Schema.Struct({
    id: Schema.String,
    userArguments: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String }))),
  }),
  tasks: Schema.Array(BatchTask),
})
export type BatchOperationsEvent = typeof BatchOperationsEvent.Type

/** A task's result code, as Batch Operations reads it. */
export type ResultCode = "Succeeded" | "TemporaryFailure" | "PermanentFailure"

/** What a Batch Operations invocation answers. */
export interface BatchOperationsResponse {
  readonly invocationSchemaVersion: "2.0"
  readonly treatMissingKeysAs: "PermanentFailure"
  readonly invocationId: string
  readonly results: ReadonlyArray<{
    readonly taskId: string
    readonly resultCode: ResultCode
    readonly resultString: string
  }>
}

/** One item of a Distributed Map batch over an inventory manifest (the inventory's columns). */
export const MapItem = Schema.Struct({
  Key: Schema.String,
  ETag: Schema.optional(Schema.String),
  Bucket: Schema.optional(Schema.String),
})

/** A Distributed Map item batch for the Docket Lambda. */
export const ItemBatchEvent = Schema.Struct({
  BatchInput: Schema.Struct({
    docket: Schema.Literal("backfill"),
    /** Inventory CSV keys are URL-encoded: decode them (the default). */
    keysUrlEncoded: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  }),
  Items: Schema.Array(MapItem),
})
export type ItemBatchEvent = typeof ItemBatchEvent.Type

/** What a Distributed Map item batch answers. */
export interface ItemBatchResponse {
  readonly items: number
  readonly written: number
  readonly unchanged: number
  readonly skipped: number
  readonly newerInCache: number
  readonly failed: ReadonlyArray<{ readonly key: string; readonly error: string }>
}

/** An invocation that cannot be handled, or a batch with objects worth retrying. */
export class BatchBackfillError extends Data.TaggedError("BatchBackfillError")<{
  readonly reason: "InvalidEvent" | "Retryable"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return `Backfill batch failed (${this.reason}): ${this.detail}`
  }
}

/** Everything the paths need. */
export type Requirements =
  | DocumentCache.DocumentCache
  | DocumentStore.DocumentStore
  | DocumentKind.DocumentKinds
  | DocketConfig.DocketConfig

export { isBatchOperations, isItemBatch } from "./Route.js"

const invalid = (error: ParseResult.ParseError) =>
  new BatchBackfillError({
    reason: "InvalidEvent",
    detail: ParseResult.TreeFormatter.formatErrorSync(error),
    cause: error,
  })

const describe = (r: Backfill.ObjectResult): string =>
  r.outcome === "failed"
    ? `${r.failure?.tag}: ${r.failure?.message}`
    : r.outcome === "newer"
      ? "newer in the cache: left alone"
      : r.outcome === "skipped"
        ? "not a document of this bucket's prefix (or filtered): skipped"
        : r.outcome

/** Runs the backfill step over a Batch Operations invocation's tasks. */
export const batchOperations = (
  event: unknown,
): Effect.Effect<BatchOperationsResponse, BatchBackfillError, Requirements> =>
  Effect.gen(function* () {
    const decoded = yield* Schema.decodeUnknown(BatchOperationsEvent)(event).pipe(Effect.mapError(invalid))
    const config = yield* DocketConfig.DocketConfig
    const keys = decoded.tasks.map((task) => ({ task, key: S3Key.decodeEventKey(task.s3Key) }))
    const runnable = keys.flatMap(({ task, key }) =>
      task.s3BucketName === config.bucket && Either.isRight(key) ? [{ key: key.right }] : [],
    )
    const results = yield* Backfill.processObjects(runnable).pipe(
      Effect.mapError((e) => new BatchBackfillError({ reason: "InvalidEvent", detail: e.message, cause: e })),
    )
    const byKey = new Map(results.map((r) => [r.key, r]))
    return {
      invocationSchemaVersion: "2.0" as const,
      treatMissingKeysAs: "PermanentFailure" as const,
      invocationId: decoded.invocationId,
      results: keys.map(({ task, key }) => {
        if (task.s3BucketName !== config.bucket) {
          return {
            taskId: task.taskId,
            resultCode: "PermanentFailure" as const,
            resultString: `bucket ${task.s3BucketName} is not this function's bucket (${config.bucket})`,
          }
        }
        if (Either.isLeft(key)) {
          return { taskId: task.taskId, resultCode: "PermanentFailure" as const, resultString: key.left.message }
        }
        const result = byKey.get(key.right)
        const code: ResultCode =
          result === undefined || result.outcome === "failed"
            ? result?.failure?.retryable === true
              ? "TemporaryFailure"
              : "PermanentFailure"
            : "Succeeded"
        return {
          taskId: task.taskId,
          resultCode: code,
          resultString: result === undefined ? "not processed" : describe(result),
        }
      }),
    }
  }).pipe(
    OperationLog.logged(
      "lambda.batchOperations",
      {},
      {
        describe: (response) => ({
          tasks: response.results.length,
          succeeded: response.results.filter((r) => r.resultCode === "Succeeded").length,
          temporaryFailures: response.results.filter((r) => r.resultCode === "TemporaryFailure").length,
          permanentFailures: response.results.filter((r) => r.resultCode === "PermanentFailure").length,
        }),
      },
    ),
    Effect.withSpan("docket.lambda.batchOperations"),
  )

/**
 * Runs the backfill step over a Distributed Map item batch; fails when any
 * object failed retryably (the Map retries the batch: what succeeded comes
 * back unchanged).
 */
export const itemBatch = (event: unknown): Effect.Effect<ItemBatchResponse, BatchBackfillError, Requirements> =>
  Effect.gen(function* () {
    const decoded = yield* Schema.decodeUnknown(ItemBatchEvent)(event).pipe(Effect.mapError(invalid))
    const objects = decoded.Items.map((item) => ({
      key: decoded.BatchInput.keysUrlEncoded
        ? Either.getOrElse(S3Key.decodeEventKey(item.Key), () => item.Key)
        : item.Key,
      etag: item.ETag,
    }))
    const results = yield* Backfill.processObjects(objects).pipe(
      Effect.mapError((e) => new BatchBackfillError({ reason: "InvalidEvent", detail: e.message, cause: e })),
    )
    const count = (o: Backfill.ObjectResult["outcome"]) => results.filter((r) => r.outcome === o).length
    const failed = results.filter((r) => r.outcome === "failed")
    const retryable = failed.filter((r) => r.failure?.retryable === true)
    if (retryable.length > 0) {
      return yield* new BatchBackfillError({
        reason: "Retryable",
        detail: `${retryable.length} of ${results.length} objects failed retryably: ${retryable
          .slice(0, 5)
          .map((r) => `${r.key}: ${r.failure?.message}`)
          .join("; ")}`,
      })
    }
    return {
      items: results.length,
      written: count("written"),
      unchanged: count("unchanged"),
      skipped: count("skipped"),
      newerInCache: count("newer"),
      failed: failed.map((r) => ({ key: r.key, error: `${r.failure?.tag}: ${r.failure?.message}` })),
    }
  }).pipe(
    OperationLog.logged(
      "lambda.itemBatch",
      {},
      {
        describe: (r) => ({
          items: r.items,
          written: r.written,
          unchanged: r.unchanged,
          failed: r.failed.length,
        }),
      },
    ),
    Effect.withSpan("docket.lambda.itemBatch"),
  )

/** Handles either invocation, annotated with the request id, metrics flushed as EMF. */
export const handle = (
  event: unknown,
  context: { readonly awsRequestId: string },
): Effect.Effect<
  BatchOperationsResponse | ItemBatchResponse,
  BatchBackfillError,
  Requirements | MetricsExport.MetricsExport
> =>
  (isBatchOperations(event)
    ? (batchOperations(event) as Effect.Effect<
        BatchOperationsResponse | ItemBatchResponse,
        BatchBackfillError,
        Requirements
      >)
    : itemBatch(event)
  ).pipe(Effect.ensuring(MetricsExport.flushEmf), Effect.annotateLogs({ requestId: context.awsRequestId }))

/**
 * The Lambda side of S3 event sync: runs core's `S3EventSync` on whatever
 * invoked the function and answers the way each trigger expects.
 *
 * - SQS: `{ batchItemFailures }` names every message with a failed record, so
 *   only those are retried (and, after `maxReceiveCount`, dead-lettered). The
 *   event source mapping must enable `ReportBatchItemFailures`.
 * - Direct S3 and EventBridge: the invocation fails when any record failed, so
 *   Lambda retries it (asynchronous invocation: twice) and then sends it to the
 *   on-failure destination. Re-running the records that succeeded is harmless:
 *   sync is idempotent.
 * - A scheduled invocation (an EventBridge "Scheduled Event", or `{"docket":"heal"}`)
 *   runs `Heal.sweep`: abandoned write intents resolved from the sparse intents
 *   index; it fails when any resolution failed, so the alarm on errors sees it.
 * - An event of no known shape fails the invocation.
 *
 * Every invocation logs one JSON line (`lambda.invoke`) and each record its own,
 * all annotated with the request id, and ends by flushing the metrics as
 * CloudWatch Embedded Metric Format lines on stdout (no API call on the hot path).
 *
 * @since 0.1.0
 */

import * as DocketConfig from "@docket/core/DocketConfig"
import * as DynamoDBCache from "@docket/core/DocumentCache/DynamoDB"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as S3Store from "@docket/core/DocumentStore/S3"
import * as Heal from "@docket/core/Heal"
import * as MetricsExport from "@docket/core/MetricsExport"
import * as OperationLog from "@docket/core/OperationLog"
import * as RateLimit from "@docket/core/RateLimit"
import type * as S3Event from "@docket/core/S3Event"
import * as S3EventSync from "@docket/core/S3EventSync"
import type { Context as LambdaContext } from "aws-lambda"
import type * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

/** What an SQS-triggered invocation returns. */
export interface SqsBatchResponse {
  readonly batchItemFailures: ReadonlyArray<{ readonly itemIdentifier: string }>
}

/** Fails a direct S3 or EventBridge invocation when records failed, so Lambda retries it. */
export class InvocationError extends Data.TaggedError("InvocationError")<{
  readonly source: S3Event.Source | "unknown" | "schedule"
  readonly failed: number
  readonly total: number
  /** The first few failures, `location: message`. */
  readonly details: ReadonlyArray<string>
}> {
  override get message() {
    const more = this.failed > this.details.length ? `; and ${this.failed - this.details.length} more` : ""
    return `${this.failed} of ${this.total} S3 event record(s) failed: ${this.details.join("; ")}${more}`
  }
}

const describeFailure = (r: S3EventSync.RecordResult): string =>
  Either.isLeft(r.result) ? `${r.location}: ${r.result.left.message}` : r.location

/**
 * The answer to a processed batch: SQS gets its `batchItemFailures`; the other
 * sources succeed (with nothing) only when every record did.
 */
export const respond = (
  result: S3EventSync.BatchResult,
): Effect.Effect<SqsBatchResponse | undefined, InvocationError> => {
  if (result.source === "sqs") {
    return Effect.succeed({ batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) })
  }
  if (result.failed.length === 0) return Effect.succeed(undefined)
  return Effect.fail(
    new InvocationError({
      source: result.source,
      failed: result.failed.length,
      total: result.results.length,
      details: result.failed.slice(0, 5).map(describeFailure),
    }),
  )
}

/** Whether an invocation asks for the intents sweep rather than event sync. */
export const isHealRequest = (event: unknown): boolean => {
  const e = event as { readonly "detail-type"?: unknown; readonly docket?: unknown } | null
  return e?.["detail-type"] === "Scheduled Event" || e?.docket === "heal"
}

/** The scheduled sweep: resolves every expired write intent; fails when a resolution failed. */
export const heal = (
  context: Pick<LambdaContext, "awsRequestId">,
): Effect.Effect<undefined, InvocationError, S3EventSync.Requirements | MetricsExport.MetricsExport> =>
  Heal.sweep().pipe(
    Effect.catchAll((error) =>
      Effect.fail(new InvocationError({ source: "schedule", failed: 1, total: 1, details: [error.message] })),
    ),
    Effect.flatMap((report) =>
      report.failed === 0
        ? Effect.succeed(undefined)
        : Effect.fail(
            new InvocationError({
              source: "schedule",
              failed: report.failed,
              total: report.found,
              details: [`${report.failed} of ${report.found} expired intents could not be resolved`],
            }),
          ),
    ),
    Effect.ensuring(MetricsExport.flushEmf),
    Effect.annotateLogs({ requestId: context.awsRequestId }),
    Effect.withSpan("docket.lambda.heal"),
  )

/**
 * Handles one invocation. Fails with {@link InvocationError} (or the event's
 * {@link S3Event.MalformedEventError}) when Lambda should retry it.
 */
export const handle = (
  event: unknown,
  context: Pick<LambdaContext, "awsRequestId">,
): Effect.Effect<
  SqsBatchResponse | undefined,
  InvocationError | S3Event.MalformedEventError,
  S3EventSync.Requirements | MetricsExport.MetricsExport
> => (isHealRequest(event) ? heal(context) : handleEvent(event, context))

const handleEvent = (
  event: unknown,
  context: Pick<LambdaContext, "awsRequestId">,
): Effect.Effect<
  SqsBatchResponse | undefined,
  InvocationError | S3Event.MalformedEventError,
  S3EventSync.Requirements | MetricsExport.MetricsExport
> =>
  Effect.gen(function* () {
    const options = yield* S3EventSync.config.pipe(Effect.orDie)
    const result = yield* S3EventSync.processEvent(event, options)
    yield* Effect.annotateCurrentSpan({ source: result.source, records: result.results.length })
    return { result, response: yield* respond(result) }
  }).pipe(
    OperationLog.logged(
      "lambda.invoke",
      {},
      {
        describe: ({ result, response }) => ({
          source: result.source,
          records: result.results.length,
          failed: result.failed.length,
          ...(response === undefined ? {} : { batchItemFailures: response.batchItemFailures.length }),
        }),
      },
    ),
    Effect.map(({ response }) => response),
    Effect.ensuring(MetricsExport.flushEmf),
    Effect.annotateLogs({ requestId: context.awsRequestId }),
    Effect.withSpan("docket.lambda.invoke"),
  )

/** JSON log lines at `DOCKET_LOG_LEVEL`. */
export const layerLogger: Layer.Layer<never, never, DocketConfig.DocketConfig> = Layer.unwrapEffect(
  Effect.map(DocketConfig.DocketConfig, (settings) =>
    Layer.merge(OperationLog.jsonLogger, Logger.minimumLogLevel(settings.logLevel)),
  ),
)

/**
 * Everything the handler needs, from the environment (DESIGN section 10): the
 * DynamoDB cache and the S3 store (SDK clients created once per container),
 * the rate limiter, the built-in document kinds, the EMF exporter and JSON logs.
 */
export const layerConfig: Layer.Layer<S3EventSync.Requirements | MetricsExport.MetricsExport, ConfigError.ConfigError> =
  Layer.mergeAll(DynamoDBCache.layerConfig, S3Store.layerConfig(), MetricsExport.layerConfig, layerLogger).pipe(
    Layer.provideMerge(Layer.merge(RateLimit.layerConfig, DocumentKind.layerDefault)),
    Layer.provideMerge(DocketConfig.layerConfig),
  )

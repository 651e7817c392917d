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
 * - An event of no known shape fails the invocation.
 *
 * Every invocation logs one JSON line (`lambda.invoke`) and each record its own,
 * all annotated with the request id, and ends by flushing the metrics as
 * CloudWatch Embedded Metric Format lines on stdout (no API call on the hot path).
 *
 * Every invocation is also a span (`lambda.invoke`, over `S3EventSync.batch` and a
 * span per record) that continues the trace it was invoked in: a W3C
 * `traceparent` (on the event, or as an SQS message attribute), else Lambda's
 * own `_X_AMZN_TRACE_ID`, else the first SQS message's `AWSTraceHeader`
 * (see {@link invocationParent}). Spans are exported only when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see `@docket/core/Tracing`).
 *
 * @since 0.1.0
 */

import * as DocketConfig from "@docket/core/DocketConfig"
import * as DynamoDBCache from "@docket/core/DocumentCache/DynamoDB"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as S3Store from "@docket/core/DocumentStore/S3"
import * as MetricsExport from "@docket/core/MetricsExport"
import * as OperationLog from "@docket/core/OperationLog"
import * as RateLimit from "@docket/core/RateLimit"
import type * as S3Event from "@docket/core/S3Event"
import * as S3EventSync from "@docket/core/S3EventSync"
import * as TraceContext from "@docket/core/TraceContext"
import type { Context as LambdaContext } from "aws-lambda"
import type * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"

/** What an SQS-triggered invocation returns. */
export interface SqsBatchResponse {
  readonly batchItemFailures: ReadonlyArray<{ readonly itemIdentifier: string }>
}

/** Fails a direct S3 or EventBridge invocation when records failed, so Lambda retries it. */
export class InvocationError extends Data.TaggedError("InvocationError")<{
  readonly source: S3Event.Source | "unknown"
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

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined

const firstSqsRecord = (event: unknown) => {
  const records = record(event)?.Records
  return Array.isArray(records) ? record(records[0]) : undefined
}

/**
 * The span an invocation continues: a W3C `traceparent` on the event (or in
 * the first SQS message's attributes), else Lambda's `_X_AMZN_TRACE_ID` (its
 * X-Ray trace header), else the first SQS message's `AWSTraceHeader`.
 */
export const invocationParent = (
  event: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Option.Option<Tracer.ExternalSpan> => {
  const top = record(event)
  const sqs = firstSqsRecord(event)
  const messageAttribute = record(record(sqs?.messageAttributes)?.traceparent)?.stringValue
  const header = record(sqs?.attributes)?.AWSTraceHeader
  return TraceContext.fromTraceparent(typeof top?.traceparent === "string" ? top.traceparent : undefined).pipe(
    Option.orElse(() =>
      TraceContext.fromTraceparent(typeof messageAttribute === "string" ? messageAttribute : undefined),
    ),
    Option.orElse(() => TraceContext.fromXRay(env._X_AMZN_TRACE_ID)),
    Option.orElse(() => TraceContext.fromXRay(typeof header === "string" ? header : undefined)),
  )
}

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
    Effect.annotateSpans({ "faas.invocation_id": context.awsRequestId }),
    TraceContext.withParent(invocationParent(event)),
  )

/**
 * Exports the invocation's spans when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
 * provided per invocation, so the last batch is sent before Lambda freezes the
 * container. Nothing (and no HTTP client) when tracing is off.
 */
export const layerTracing: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.suspend(() =>
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined &&
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === undefined
      ? Effect.succeed(Layer.empty)
      : // Loaded only when tracing is on: the exporter is not on the cold-start path otherwise.
        Effect.map(
          Effect.promise(() => import("@docket/core/Tracing")),
          (Tracing) => Tracing.layerConfig("docket-lambda"),
        ),
  ),
).pipe(Layer.orDie)

/** JSON log lines at `DOCKET_LOG_LEVEL`. */
export const layerLogger: Layer.Layer<never, never, DocketConfig.DocketConfig> = Layer.unwrapEffect(
  Effect.map(DocketConfig.DocketConfig, (settings) =>
    Layer.merge(OperationLog.jsonLogger, Logger.minimumLogLevel(settings.logLevel)),
  ),
)

/**
 * Everything a handler needs, from the environment (DESIGN section 10): the
 * DynamoDB cache and the S3 store (SDK clients created once per runtime), the
 * rate limiter, the built-in document kinds, the EMF exporter and JSON logs.
 * `documentsOnly`: the cache and the store without their many-document
 * operations (queries, scans, listings, the intents index), which S3 event sync
 * never calls: they are not loaded, and neither is effect's `Stream` (see
 * {@link layerConfig}).
 */
export const layerConfigWith = (options: {
  readonly documentsOnly: boolean
}): Layer.Layer<S3EventSync.Requirements | MetricsExport.MetricsExport, ConfigError.ConfigError> =>
  Layer.mergeAll(
    DynamoDBCache.layerConfigWith(options),
    S3Store.layerConfig(options),
    MetricsExport.layerConfig,
    layerLogger,
  ).pipe(
    Layer.provideMerge(Layer.merge(RateLimit.layerConfig, DocumentKind.layerDefault)),
    Layer.provideMerge(DocketConfig.layerConfig),
  )

/**
 * What S3 event sync needs ({@link handle}), from the environment: the services of
 * {@link layerConfigWith} with `documentsOnly`, so an S3-event container loads no
 * query, scan or listing code (the scheduled tasks and the distributed backfill run
 * on a runtime of their own, built from `layerConfigWith({ documentsOnly: false })`).
 */
export const layerConfig: Layer.Layer<S3EventSync.Requirements | MetricsExport.MetricsExport, ConfigError.ConfigError> =
  layerConfigWith({ documentsOnly: true })

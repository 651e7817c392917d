/**
 * Exports Docket's Effect `Metric`s (see `CacheMetrics`) to CloudWatch, either as
 * Embedded Metric Format lines on stdout (Lambda: no API call on the hot path;
 * CloudWatch Logs extracts the metrics) or with `PutMetricData` (the CLI's
 * `--metrics cloudwatch`).
 *
 * What is published, exactly (the alarms in infra/terraform use these, and a
 * test checks it):
 *
 * - namespace {@link namespace} (`Docket`);
 * - metric names and units from {@link catalog} (declared in `CacheMetrics`);
 * - dimensions: every metric is published with the base set
 *   `Service=docket, Table=<table>` ({@link baseDimensionNames}); a metric whose
 *   catalog entry lists tags (e.g. `WriteOutcomes` by `outcome`) is published a
 *   second time with those tags as extra dimensions. Other tags are aggregated
 *   away, so dimensions stay few and stable whatever callers tag.
 *
 * Counters are published as deltas since the previous flush of the same
 * {@link MetricsExport} service, so a Lambda container that flushes after every
 * invocation never counts twice. A flush whose sending fails keeps the deltas for
 * the next one.
 *
 * Histograms (`QueryLatency`, `EventLag`) are published as `Values`/`Counts`
 * pairs, one value per non-empty bucket, so CloudWatch can compute percentiles
 * (p99); in EMF with the statistic set they imply (`Max`, `Min`, `Count`,
 * `Sum`), the shape AWS's own EMF libraries write. Precision: each observation is reported as the midpoint of its bucket
 * (`(lower, upper]`, lower = 0 for the first one; the open-ended last bucket
 * reports the largest value seen). A percentile is therefore exact up to the
 * bucket it falls in; thresholds that are bucket boundaries (500 ms for
 * `QueryLatency`) are decided exactly.
 *
 * @example
 * ```ts
 * // Lambda: after each invocation
 * yield* MetricsExport.flushEmf
 * // CLI: --metrics cloudwatch
 * yield* MetricsExport.publishCloudWatch().pipe(Effect.provide(MetricsExport.layerCloudWatch({ region })))
 * ```
 *
 * @since 0.1.0
 */
import { CloudWatchClient, type CloudWatchClientConfig, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as CacheMetrics from "./CacheMetrics.js"
import { DocketConfig } from "./DocketConfig.js"
import * as DocketError from "./DocketError.js"
import * as MetricData from "./MetricData.js"
import { collect, type Datum, emptyTotals, putMetricDataRequests, renderEmf, type Totals } from "./MetricData.js"
import * as OperationLog from "./OperationLog.js"
import * as Retry from "./Retry.js"

/** The CloudWatch namespace (the same as `CacheMetrics.namespace`). */
export const namespace: string = MetricData.namespace

/** The value of the `Service` dimension. */
export const serviceName = MetricData.serviceName

/** The dimensions every metric carries, in this order. */
export const baseDimensionNames = MetricData.baseDimensionNames

/** CloudWatch units Docket uses. */
export type Unit = CacheMetrics.Unit

/** One metric Docket emits: `CacheMetrics.Definition`. */
export type CatalogEntry = CacheMetrics.Definition

/**
 * Every metric Docket emits, with its unit and dimensions: `CacheMetrics.catalog`,
 * where each is declared. Exporters publish only these; the Terraform alarms may
 * reference only these (tested).
 */
export const catalog: ReadonlyArray<CatalogEntry> = CacheMetrics.catalog

export {
  collect,
  type Datum,
  emfLimits,
  emptyTotals,
  putMetricDataLimits,
  putMetricDataRequests,
  renderEmf,
  type Totals,
  type Value,
} from "./MetricData.js"

/** Publishing to CloudWatch failed (after retries). */
export class PublishError extends DocketError.Remote("PublishError")<{
  readonly reason: DocketError.Reason
  readonly cause?: unknown
}> {
  override get message() {
    const detail = (this.cause as { message?: unknown } | undefined)?.message
    return `CloudWatch PutMetricData to namespace ${namespace} failed (${this.reason})${typeof detail === "string" ? `: ${detail}` : ""}`
  }
}

/** The exporter: remembers what was already published. One per process (Lambda container). */
export class MetricsExport extends Context.Tag("@docket/core/MetricsExport")<
  MetricsExport,
  {
    /**
     * Computes the data since the last successful flush and hands it to `send`;
     * when `send` succeeds, those deltas count as published. Flushes are serialised.
     */
    readonly flush: <E, R>(
      send: (data: ReadonlyArray<Datum>, timestamp: number) => Effect.Effect<void, E, R>,
    ) => Effect.Effect<ReadonlyArray<Datum>, E, R>
  }
>() {}

/** Builds an exporter for `table` reading the global metric registry. */
export const make = (options: {
  readonly table: string
  readonly service?: string
}): Effect.Effect<Context.Tag.Service<MetricsExport>> =>
  Effect.gen(function* () {
    const totals = yield* Ref.make<Totals>(emptyTotals)
    const lock = yield* Effect.makeSemaphore(1)
    return {
      flush: <E, R>(send: (data: ReadonlyArray<Datum>, timestamp: number) => Effect.Effect<void, E, R>) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            const pairs = yield* Metric.snapshot
            const timestamp = yield* Clock.currentTimeMillis
            const result = collect(pairs, yield* Ref.get(totals), options)
            if (result.data.length > 0) yield* send(result.data, timestamp)
            yield* Ref.set(totals, result.totals)
            return result.data
          }),
        ),
    }
  })

/** An exporter for a fixed table. */
export const layer = (options: { readonly table: string; readonly service?: string }): Layer.Layer<MetricsExport> =>
  Layer.effect(MetricsExport, make(options))

/** An exporter for the table of `DocketConfig`. */
export const layerConfig: Layer.Layer<MetricsExport, never, DocketConfig> = Layer.effect(
  MetricsExport,
  Effect.flatMap(DocketConfig, (settings) => make({ table: settings.table })),
)

/**
 * Writes the metrics since the last flush to stdout as EMF lines (through
 * `Console`). Returns the number of lines written. Call it after each Lambda
 * invocation and at the end of a CLI command run with `--metrics emf`.
 */
export const flushEmf: Effect.Effect<number, never, MetricsExport> = Effect.flatMap(MetricsExport, (exporter) =>
  exporter
    .flush((data, timestamp) =>
      Effect.forEach(renderEmf(data, timestamp), (line) => Console.log(line), { discard: true }),
    )
    .pipe(Effect.map((data) => (data.length === 0 ? 0 : renderEmf(data, 0).length))),
)

/** The CloudWatch SDK client used by {@link publishCloudWatch}. */
export class CloudWatch extends Context.Tag("@docket/core/MetricsExport/CloudWatch")<CloudWatch, CloudWatchClient>() {}

/**
 * A CloudWatch client (destroyed with the scope). `maxAttempts: 1`: Docket's
 * retry policy is the only retry layer.
 */
export const layerCloudWatch = (config: CloudWatchClientConfig = {}): Layer.Layer<CloudWatch> =>
  Layer.scoped(
    CloudWatch,
    Effect.acquireRelease(
      Effect.sync(() => new CloudWatchClient({ ...config, maxAttempts: 1 })),
      (client) => Effect.sync(() => client.destroy()),
    ),
  )

/**
 * Publishes the metrics since the last flush with `PutMetricData` (batched,
 * retried under `policy`). Returns the number of requests sent. On failure the
 * deltas stay pending for the next flush (when a flush needs more than one
 * request, 1000 datums each, and a later one fails, the earlier ones are sent
 * again next time; Docket's catalog produces a few dozen datums per flush).
 */
export const publishCloudWatch = (
  policy: Retry.Policy = Retry.defaultPolicy,
): Effect.Effect<number, PublishError, MetricsExport | CloudWatch> =>
  Effect.gen(function* () {
    const exporter = yield* MetricsExport
    const client = yield* CloudWatch
    const data = yield* exporter.flush((data, timestamp) =>
      Effect.forEach(
        putMetricDataRequests(data, timestamp),
        (input) =>
          Effect.tryPromise({
            try: (signal) => client.send(new PutMetricDataCommand(input), { abortSignal: signal }),
            catch: (cause) => new PublishError({ reason: Retry.classify(cause).reason, cause }),
          }).pipe(Retry.retrying(policy)),
        { discard: true },
      ),
    )
    return putMetricDataRequests(data, 0).length
  }).pipe(OperationLog.logged("metrics.publish", { namespace }, { describe: (requests) => ({ requests }) }))

/**
 * For long-running applications: runs `flush` (e.g. {@link flushEmf}, or
 * {@link publishCloudWatch}`()`) every `interval` while the layer is in scope,
 * and once more when the scope closes. Failures are logged, never fatal; the
 * exporter keeps unsent deltas for the next flush.
 *
 * @example
 * ```ts
 * const Metrics = MetricsExport.layerPeriodic(MetricsExport.flushEmf, "1 minute").pipe(
 *   Layer.provide(MetricsExport.layerConfig),
 * )
 * ```
 */
export const layerPeriodic = <A, E, R>(
  flush: Effect.Effect<A, E, R>,
  interval: Duration.DurationInput = "1 minute",
): Layer.Layer<never, never, R> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const once = flush.pipe(Effect.ignoreLogged)
      yield* Effect.addFinalizer(() => once)
      yield* once.pipe(Effect.delay(interval), Effect.forever, Effect.forkScoped)
    }),
  )

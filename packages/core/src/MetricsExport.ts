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
 * - metric names and units from {@link catalog};
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
import {
  CloudWatchClient,
  type CloudWatchClientConfig,
  type MetricDatum,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Ref from "effect/Ref"
import * as CacheMetrics from "./CacheMetrics.js"
import { DocketConfig } from "./DocketConfig.js"
import * as DocketError from "./DocketError.js"
import * as OperationLog from "./OperationLog.js"
import * as Retry from "./Retry.js"

/** The CloudWatch namespace (the same as `CacheMetrics.namespace`). */
export const namespace: string = CacheMetrics.namespace

/** The value of the `Service` dimension. */
export const serviceName = "docket"

/** The dimensions every metric carries, in this order. */
export const baseDimensionNames = ["Service", "Table"] as const

/** CloudWatch units Docket uses. */
export type Unit = "Count" | "Milliseconds"

/** One metric Docket emits. */
export interface CatalogEntry {
  /** The CloudWatch metric name (= the Effect metric's name). */
  readonly name: string
  readonly type: "counter" | "histogram"
  readonly unit: Unit
  /** Tags published as extra dimensions (in a second dimension set). */
  readonly dimensions: ReadonlyArray<string>
  readonly description: string
}

const counter = (name: string, description: string, dimensions: ReadonlyArray<string> = []): CatalogEntry => ({
  name,
  type: "counter",
  unit: "Count",
  dimensions,
  description,
})

/**
 * Every metric Docket emits, with its unit and dimensions. Exporters publish
 * only these; the Terraform alarms may reference only these (tested).
 */
export const catalog: ReadonlyArray<CatalogEntry> = [
  counter("CacheHits", "Cache reads answered from DynamoDB"),
  counter("CacheMisses", "Cache reads that had to go to S3"),
  counter("Fallbacks", "Reads answered from S3"),
  counter("CacheRefills", "Cache refills after a fallback read", ["outcome"]),
  {
    name: "QueryLatency",
    type: "histogram",
    unit: "Milliseconds",
    dimensions: ["index"],
    description: "Query latency (p99 alarm)",
  },
  counter("WriteOutcomes", "Write-through outcomes", ["outcome"]),
  counter("Rollbacks", "Cache rollbacks after an S3 failure", ["outcome"]),
  counter("ReconcileNeeded", "Keys whose rollback failed"),
  counter("IntentsResolved", "Expired write intents resolved", ["outcome"]),
  {
    name: "EventLag",
    type: "histogram",
    unit: "Milliseconds",
    dimensions: [],
    description: "Time from an S3 event to its processing",
  },
  counter("EventsProcessed", "S3 events applied"),
  counter("EventsStale", "S3 events older than the cache"),
  counter("EventsSkipped", "S3 events for non-document keys"),
  counter("EventsFailed", "S3 events that failed after retries"),
  counter("Throttles", "Throttled DynamoDB or S3 calls"),
]

const catalogByName: ReadonlyMap<string, CatalogEntry> = new Map(catalog.map((entry) => [entry.name, entry]))

/** A metric's value for one flush window. */
export type Value =
  | { readonly _tag: "Count"; readonly count: number }
  | {
      readonly _tag: "Distribution"
      /** Bucket representatives, ascending. */
      readonly values: ReadonlyArray<number>
      /** How many observations each value stands for. */
      readonly counts: ReadonlyArray<number>
    }

/** One metric, one dimension set, one window: what becomes an EMF member or a `MetricDatum`. */
export interface Datum {
  readonly name: string
  readonly unit: Unit
  /** Dimension name/value pairs, base dimensions first. */
  readonly dimensions: ReadonlyArray<readonly [string, string]>
  readonly value: Value
}

/** What a flush remembers of each metric (by name and tags) to compute the next deltas. */
export type Totals = ReadonlyMap<
  string,
  | { readonly _tag: "Count"; readonly count: number }
  | { readonly _tag: "Buckets"; readonly counts: ReadonlyArray<number> }
>

/** No flush yet: the first one reports everything since the process started. */
export const emptyTotals: Totals = new Map()

const pairKey = (pair: MetricPair.MetricPair.Untyped): string =>
  JSON.stringify([
    pair.metricKey.name,
    [...pair.metricKey.tags].map((t) => [t.key, t.value]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
  ])

/** Per-bucket (not cumulative) counts and the representative value of each bucket. */
const buckets = (state: MetricState.MetricState.Histogram): { counts: Array<number>; values: Array<number> } => {
  const counts: Array<number> = []
  const values: Array<number> = []
  let previousBound = 0
  let previousCumulative = 0
  for (const [bound, cumulative] of state.buckets) {
    counts.push(cumulative - previousCumulative)
    values.push(
      Number.isFinite(bound)
        ? (previousBound + bound) / 2
        : Math.max(state.max, Number.isFinite(previousBound) ? previousBound : 0),
    )
    previousBound = bound
    previousCumulative = cumulative
  }
  return { counts, values }
}

interface Accumulator {
  readonly name: string
  readonly unit: Unit
  readonly dimensions: ReadonlyArray<readonly [string, string]>
  count: number
  readonly distribution: Map<number, number>
}

/**
 * Turns a registry snapshot into the data of one window: deltas against
 * `previous`, catalog metrics only, aggregated per dimension set. Pure.
 * Returns the totals to remember for the next window.
 */
export const collect = (
  pairs: Iterable<MetricPair.MetricPair.Untyped>,
  previous: Totals,
  options: { readonly table: string; readonly service?: string },
): { readonly data: ReadonlyArray<Datum>; readonly totals: Totals } => {
  const base: ReadonlyArray<readonly [string, string]> = [
    ["Service", options.service ?? serviceName],
    ["Table", options.table],
  ]
  const totals = new Map(previous)
  const groups = new Map<string, Accumulator>()
  const accumulator = (entry: CatalogEntry, dimensions: ReadonlyArray<readonly [string, string]>): Accumulator => {
    const key = JSON.stringify([entry.name, dimensions])
    let acc = groups.get(key)
    if (acc === undefined) {
      acc = { name: entry.name, unit: entry.unit, dimensions, count: 0, distribution: new Map() }
      groups.set(key, acc)
    }
    return acc
  }
  for (const pair of pairs) {
    const entry = catalogByName.get(pair.metricKey.name)
    if (entry === undefined) continue
    const key = pairKey(pair)
    const tags = new Map(pair.metricKey.tags.map((t) => [t.key, t.value]))
    // CloudWatch rejects empty dimension values: such a tag is aggregated away.
    const tagged = entry.dimensions.filter((d) => (tags.get(d) ?? "") !== "")
    const sets: Array<ReadonlyArray<readonly [string, string]>> = [base]
    if (tagged.length > 0) sets.push([...base, ...tagged.map((d) => [d, tags.get(d)!] as const)])
    const state = pair.metricState
    if (entry.type === "counter" && MetricState.isCounterState(state)) {
      const now = Number(state.count)
      const before = previous.get(key)
      const was = before?._tag === "Count" ? before.count : 0
      const delta = now >= was ? now - was : now
      totals.set(key, { _tag: "Count", count: now })
      if (delta <= 0) continue
      for (const dimensions of sets) accumulator(entry, dimensions).count += delta
    } else if (entry.type === "histogram" && MetricState.isHistogramState(state)) {
      const { counts, values } = buckets(state)
      const before = previous.get(key)
      const was = before?._tag === "Buckets" && before.counts.length === counts.length ? before.counts : undefined
      totals.set(key, { _tag: "Buckets", counts })
      counts.forEach((now, i) => {
        const old = was?.[i] ?? 0
        const delta = now >= old ? now - old : now
        if (delta <= 0) return
        const value = values[i]!
        for (const dimensions of sets) {
          const acc = accumulator(entry, dimensions)
          acc.distribution.set(value, (acc.distribution.get(value) ?? 0) + delta)
        }
      })
    }
  }
  const data: Array<Datum> = []
  for (const acc of groups.values()) {
    if (catalogByName.get(acc.name)?.type === "counter") {
      data.push({
        name: acc.name,
        unit: acc.unit,
        dimensions: acc.dimensions,
        value: { _tag: "Count", count: acc.count },
      })
    } else if (acc.distribution.size > 0) {
      const sorted = [...acc.distribution.entries()].sort((a, b) => a[0] - b[0])
      data.push({
        name: acc.name,
        unit: acc.unit,
        dimensions: acc.dimensions,
        value: { _tag: "Distribution", values: sorted.map(([v]) => v), counts: sorted.map(([, c]) => c) },
      })
    }
  }
  return { data, totals }
}

/** EMF limits: metrics per directive and values per metric. */
export const emfLimits = { metricsPerLine: 100, valuesPerMetric: 100 } as const

const chunk = <A>(items: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** A distribution split so that no part has more than `size` values. */
const splitValue = (value: Value, size: number): ReadonlyArray<Value> =>
  value._tag === "Count"
    ? [value]
    : chunk(
        value.values.map((v, i) => [v, value.counts[i]!] as const),
        size,
      ).map((part) => ({ _tag: "Distribution", values: part.map(([v]) => v), counts: part.map(([, c]) => c) }))

/**
 * The EMF histogram member, as AWS's own EMF libraries write it: `Values` and
 * `Counts` plus the statistic set they imply (CloudWatch drops histograms of
 * more than 100 values).
 */
const emfHistogram = (value: Extract<Value, { _tag: "Distribution" }>) => {
  let count = 0
  let sum = 0
  value.values.forEach((v, i) => {
    count += value.counts[i]!
    sum += v * value.counts[i]!
  })
  return {
    Values: value.values,
    Counts: value.counts,
    Max: Math.max(...value.values),
    Min: Math.min(...value.values),
    Count: count,
    Sum: sum,
  }
}

/**
 * Renders data as Embedded Metric Format documents, one JSON object per line:
 * one line per dimension set (more when a line would exceed the EMF limits).
 * Counters are plain numbers, histograms
 * `{ "Values": [...], "Counts": [...], "Max", "Min", "Count", "Sum" }`.
 */
export const renderEmf = (data: ReadonlyArray<Datum>, timestamp: number): ReadonlyArray<string> => {
  const bySet = new Map<string, Array<Datum>>()
  for (const datum of data) {
    const key = JSON.stringify(datum.dimensions)
    const list = bySet.get(key) ?? []
    list.push(datum)
    bySet.set(key, list)
  }
  const lines: Array<string> = []
  for (const group of bySet.values()) {
    const dimensions = group[0]!.dimensions
    // Lines of this set: a metric's parts go to consecutive lines (a name appears once per line).
    const lineMembers: Array<Array<{ datum: Datum; value: Value }>> = []
    for (const datum of group) {
      splitValue(datum.value, emfLimits.valuesPerMetric).forEach((value, part) => {
        let index = part
        while (lineMembers[index] !== undefined && lineMembers[index]!.length >= emfLimits.metricsPerLine) index++
        if (lineMembers[index] === undefined) lineMembers[index] = []
        lineMembers[index]!.push({ datum, value })
      })
    }
    for (const members of lineMembers) {
      if (members === undefined || members.length === 0) continue
      const document: Record<string, unknown> = {
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [dimensions.map(([name]) => name)],
              Metrics: members.map(({ datum }) => ({ Name: datum.name, Unit: datum.unit })),
            },
          ],
        },
      }
      for (const [name, value] of dimensions) document[name] = value
      for (const { datum, value } of members) {
        document[datum.name] = value._tag === "Count" ? value.count : emfHistogram(value)
      }
      lines.push(JSON.stringify(document))
    }
  }
  return lines
}

/** PutMetricData limits: datums per request and values per datum. */
export const putMetricDataLimits = { datumsPerRequest: 1000, valuesPerDatum: 150 } as const

/** The `PutMetricData` requests that publish `data` (batched within the API limits). Pure. */
export const putMetricDataRequests = (
  data: ReadonlyArray<Datum>,
  timestamp: number,
): ReadonlyArray<PutMetricDataCommandInput> => {
  const datums: Array<MetricDatum> = data.flatMap((datum) =>
    splitValue(datum.value, putMetricDataLimits.valuesPerDatum).map(
      (value): MetricDatum => ({
        MetricName: datum.name,
        Dimensions: datum.dimensions.map(([Name, Value]) => ({ Name, Value })),
        Timestamp: new Date(timestamp),
        Unit: datum.unit,
        ...(value._tag === "Count" ? { Value: value.count } : { Values: [...value.values], Counts: [...value.counts] }),
      }),
    ),
  )
  return chunk(datums, putMetricDataLimits.datumsPerRequest).map((MetricData) => ({ Namespace: namespace, MetricData }))
}

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

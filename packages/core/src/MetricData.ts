/**
 * One flush window of Docket's metrics: the deltas since the previous window
 * taken from a registry snapshot ({@link collect}), as datums per dimension
 * set, and their two encodings, Embedded Metric Format lines ({@link renderEmf})
 * and `PutMetricData` requests ({@link putMetricDataRequests}). All pure: the
 * `MetricsExport` service reads the registry, remembers the totals and sends.
 * What is published, and why, is documented there.
 *
 * @since 0.1.0
 */
import type { MetricDatum, PutMetricDataCommandInput } from "@aws-sdk/client-cloudwatch"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as CacheMetrics from "./CacheMetrics.js"

/** The CloudWatch namespace (the same as `CacheMetrics.namespace`). */
export const namespace: string = CacheMetrics.namespace

/** The value of the `Service` dimension. */
export const serviceName = "docket"

/** The dimensions every metric carries, in this order. */
export const baseDimensionNames = ["Service", "Table"] as const

/** CloudWatch units Docket uses. */
export type Unit = CacheMetrics.Unit

const catalogByName: ReadonlyMap<string, CacheMetrics.Definition> = new Map(
  CacheMetrics.catalog.map((entry) => [entry.name, entry]),
)

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
  const accumulator = (
    entry: CacheMetrics.Definition,
    dimensions: ReadonlyArray<readonly [string, string]>,
  ): Accumulator => {
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

/**
 * Docket's metrics (DESIGN section 9): Effect `Metric`s are the one source.
 * Every metric is declared here once, with its unit, the tags it is published
 * by and its description; {@link catalog} lists them in declaration order, and
 * the exporters (`MetricsExport`: Embedded Metric Format, PutMetricData) and
 * the CloudWatch alarms (namespace {@link namespace}) use only those.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/** CloudWatch units Docket uses. */
export type Unit = "Count" | "Milliseconds"

/** One metric Docket emits, as the exporters publish it. */
export interface Definition {
  /** The CloudWatch metric name (= the Effect metric's name). */
  readonly name: string
  readonly type: "counter" | "histogram"
  readonly unit: Unit
  /** Tags published as extra dimensions (in a second dimension set). */
  readonly dimensions: ReadonlyArray<string>
  readonly description: string
}

const definitions: Array<Definition> = []

/** Declares an incremental counter and its catalog entry. */
const counter = (name: string, description: string, dimensions: ReadonlyArray<string> = []) => {
  definitions.push({ name, type: "counter", unit: "Count", dimensions, description })
  return Metric.counter(name, { description, incremental: true })
}

/** Declares a histogram of milliseconds and its catalog entry. */
const histogram = (
  name: string,
  boundaries: MetricBoundaries.MetricBoundaries,
  description: string,
  dimensions: ReadonlyArray<string> = [],
) => {
  definitions.push({ name, type: "histogram", unit: "Milliseconds", dimensions, description })
  return Metric.histogram(name, boundaries, description)
}

/**
 * Increments of `metric` tagged `tag` = a value, each tagged metric built once
 * per value and kept: building one per call (`Metric.tagged`) creates and
 * hashes a new metric key every time, which showed in a write's profile.
 *
 * @example
 * ```ts
 * const countWrite = CacheMetrics.incrementTagged(CacheMetrics.writes, "outcome")
 * countWrite("written") // Effect<void>
 * ```
 */
export const incrementTagged = (
  metric: Metric.Metric.Counter<number>,
  tag: string,
): ((value: string) => Effect.Effect<void>) => {
  const increments = new Map<string, Effect.Effect<void>>()
  return (value) => {
    let increment = increments.get(value)
    if (increment === undefined) {
      increment = Metric.increment(Metric.tagged(metric, tag, value))
      increments.set(value, increment)
    }
    return increment
  }
}

/** The CloudWatch namespace Docket publishes to. */
export const namespace = "Docket"

/** Cache reads that found a live document. */
export const cacheHits = counter("CacheHits", "Cache reads answered from DynamoDB")

/** Cache reads that found nothing live (absent, expired, tombstone or pointer). */
export const cacheMisses = counter("CacheMisses", "Cache reads that had to go to S3")

/** Reads answered from S3 because the cache missed or failed. */
export const fallbacks = counter("Fallbacks", "Reads answered from S3")

/** Cache refills after a fallback read, tagged `outcome` = `ok` | `failed`. */
export const refills = counter("CacheRefills", "Cache refills after a fallback read", ["outcome"])

/**
 * Query latency in milliseconds (histogram, for p99), tagged `index`. The
 * boundaries include the alarm threshold (500 ms) so that the exported p99 is
 * on the right side of it (see `MetricsExport`).
 */
export const queryLatency = histogram(
  "QueryLatency",
  MetricBoundaries.fromIterable(
    [...MetricBoundaries.exponential({ start: 1, factor: 1.6, count: 24 }).values, 500].sort((a, b) => a - b),
  ),
  "Query latency (p99 alarm)",
  ["index"],
)

/** Write-through outcomes, tagged `outcome` = `written` | `unchanged` | `rolled-back` | `failed` | `stale`. */
export const writes = counter("WriteOutcomes", "Write-through outcomes", ["outcome"])

/** Rollbacks of the cache after an S3 failure, tagged `outcome` = `ok` | `failed`. */
export const rollbacks = counter("Rollbacks", "Cache rollbacks after an S3 failure", ["outcome"])

/** Keys whose rollback failed: the cache may disagree with S3 until reconcile runs. */
export const reconcileNeeded = counter("ReconcileNeeded", "Keys whose rollback failed")

/**
 * Abandoned write intents resolved (lease expired), tagged `outcome` =
 * `rolled-forward` (S3 held the intent's ETag: committed) | `dropped` (it did
 * not: cleared) | `failed`.
 */
export const intentsResolved = counter("IntentsResolved", "Expired write intents resolved", ["outcome"])

/** Milliseconds from an S3 event's time to its processing. */
export const eventLag = histogram(
  "EventLag",
  MetricBoundaries.exponential({ start: 10, factor: 2, count: 20 }),
  "Time from an S3 event to its processing",
)

/** S3 event records applied to the cache. */
export const eventsProcessed = counter("EventsProcessed", "S3 events applied")

/** S3 event records skipped because the cache already holds a newer state. */
export const eventsStale = counter("EventsStale", "S3 events older than the cache")

/** S3 event records skipped because the key is not a document. */
export const eventsSkipped = counter("EventsSkipped", "S3 events for non-document keys")

/** S3 event records that failed after retries. */
export const eventsFailed = counter("EventsFailed", "S3 events that failed after retries")

/** DynamoDB throttling responses seen (before retries). */
export const throttles = counter("Throttles", "Throttled DynamoDB or S3 calls")

/**
 * Every metric above, in declaration order: what the exporters publish and the
 * Terraform alarms may reference (tested).
 */
export const catalog: ReadonlyArray<Definition> = definitions

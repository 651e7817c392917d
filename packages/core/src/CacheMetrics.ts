/**
 * Docket's metrics (DESIGN section 9): Effect `Metric`s are the one source.
 * Every name here is what the CloudWatch alarms use (namespace
 * {@link namespace}); exporters (Embedded Metric Format, PutMetricData) read
 * them from the metric registry.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/** The CloudWatch namespace Docket publishes to. */
export const namespace = "Docket"

/** Cache reads that found a live document. */
export const cacheHits = Metric.counter("CacheHits", {
  description: "Cache reads answered from DynamoDB",
  incremental: true,
})

/** Cache reads that found nothing live (absent, expired, tombstone or pointer). */
export const cacheMisses = Metric.counter("CacheMisses", {
  description: "Cache reads that had to go to S3",
  incremental: true,
})

/** Reads answered from S3 because the cache missed or failed. */
export const fallbacks = Metric.counter("Fallbacks", { description: "Reads answered from S3", incremental: true })

/** Cache refills after a fallback read, tagged `outcome` = `ok` | `failed`. */
export const refills = Metric.counter("CacheRefills", {
  description: "Cache refills after fallback",
  incremental: true,
})

/**
 * Query latency in milliseconds (histogram, for p99), tagged `index`. The
 * boundaries include the alarm threshold (500 ms) so that the exported p99 is
 * on the right side of it (see `MetricsExport`).
 */
export const queryLatency = Metric.histogram(
  "QueryLatency",
  MetricBoundaries.fromIterable(
    [...MetricBoundaries.exponential({ start: 1, factor: 1.6, count: 24 }).values, 500].sort((a, b) => a - b),
  ),
  "Query latency in milliseconds",
)

/** Write-through outcomes, tagged `outcome` = `written` | `unchanged` | `rolled-back` | `failed` | `stale`. */
export const writes = Metric.counter("WriteOutcomes", { description: "Write-through outcomes", incremental: true })

/** Rollbacks of the cache after an S3 failure, tagged `outcome` = `ok` | `failed`. */
export const rollbacks = Metric.counter("Rollbacks", { description: "Cache rollbacks", incremental: true })

/** Keys whose rollback failed: the cache may disagree with S3 until reconcile runs. */
export const reconcileNeeded = Metric.counter("ReconcileNeeded", {
  description: "Keys marked for reconcile after a failed rollback",
  incremental: true,
})

/**
 * Abandoned write intents resolved (lease expired), tagged `outcome` =
 * `rolled-forward` (S3 held the intent's ETag: committed) | `dropped` (it did
 * not: cleared) | `failed`.
 */
export const intentsResolved = Metric.counter("IntentsResolved", {
  description: "Expired write intents resolved",
  incremental: true,
})

/** Milliseconds from an S3 event's time to its processing. */
export const eventLag = Metric.histogram(
  "EventLag",
  MetricBoundaries.exponential({ start: 10, factor: 2, count: 20 }),
  "S3 event lag in milliseconds",
)

/** S3 event records applied to the cache. */
export const eventsProcessed = Metric.counter("EventsProcessed", {
  description: "S3 events applied",
  incremental: true,
})

/** S3 event records skipped because the cache already holds a newer state. */
export const eventsStale = Metric.counter("EventsStale", {
  description: "S3 events older than the cache",
  incremental: true,
})

/** S3 event records skipped because the key is not a document. */
export const eventsSkipped = Metric.counter("EventsSkipped", {
  description: "S3 events for non-document keys",
  incremental: true,
})

/** S3 event records that failed after retries. */
export const eventsFailed = Metric.counter("EventsFailed", { description: "S3 events that failed", incremental: true })

/** DynamoDB throttling responses seen (before retries). */
export const throttles = Metric.counter("Throttles", {
  description: "Throttled DynamoDB or S3 calls",
  incremental: true,
})

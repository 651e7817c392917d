/**
 * The query paths of the DynamoDB backend: the three summary indexes (names
 * and keys from `Table.definition`), time buckets read ahead in parallel and
 * emitted in order, status partitions (one per kind and shard) read in parallel
 * and merged in order, expiry filtered on the server and again here, and pages
 * that resume at an opaque cursor.
 *
 * The cursor of a sharded status query is still one position (time, kind, id):
 * the result order is total and every document lives in exactly one shard, so
 * "strictly after the last item returned" is the same point in every shard, and
 * each shard resumes from it (its sort key bounded below by the position's time,
 * what is not strictly after it skipped). A page therefore neither repeats nor
 * skips, whatever the shard count, and the cursor does not grow with it.
 *
 * Each step is a named module-level function over the backend (`Ctx`, built once
 * in `make`): `scan` (the ordered stream), `query` and its `queryFinished` log,
 * `page` and its `collectAfter`; the per-partition steps (`queryPage`,
 * `partitionStream`, `collectPartition`, `mergedPartitions`, `collectMerged`)
 * live in `Partitions`.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "../../CacheMetrics.js"
import type * as Document from "../../Document.js"
import type { CacheError, Service } from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as QueryPlan from "../../internal/query.js"
import * as OperationLog from "../../OperationLog.js"
import { type Backend, log, newStats, type Stats, statsFields } from "./Call.js"
import {
  collectMerged,
  collectPartition,
  mergedPartitions,
  type Partition,
  partitionOf,
  partitionStream,
  queryPage,
  type SummaryIndex,
  singlePartition,
  statusParts,
} from "./Partitions.js"

/** What the query steps read: the shared backend and how many time buckets are read ahead. */
interface Ctx extends Backend {
  readonly bucketConcurrency: number
}

const indexOf = (plan: QueryPlan.Plan) =>
  plan.target._tag === "Time"
    ? "TimeRangeIndex"
    : plan.target._tag === "Customer"
      ? "CustomerTimeIndex"
      : "StatusTimeIndex"

const lowerBound = (plan: QueryPlan.Plan, after: Option.Option<QueryPlan.Position>): string =>
  Option.match(after, {
    onNone: () => plan.from,
    onSome: (p) => (p.time.localeCompare(plan.from) > 0 ? p.time : plan.from),
  })

/** The ordered stream of matches strictly after `after`. */
const scan = (
  ctx: Ctx,
  stats: Stats,
  plan: QueryPlan.Plan,
  after: Option.Option<QueryPlan.Position>,
  now: number,
  limit: number | undefined,
): Stream.Stream<Document.Summary, CacheError> => {
  const lower = Option.match(after, {
    onNone: () => plan.from,
    onSome: (p) => (p.time.localeCompare(plan.from) > 0 ? p.time : plan.from),
  })
  let stream: Stream.Stream<Document.Summary, CacheError>
  switch (plan.target._tag) {
    case "Time": {
      const part = (bucket: string): Partition => ({
        ...partitionOf("TimeRangeIndex"),
        pkValue: bucket,
        kindFilter: plan.kind,
      })
      const buckets = Items.timeBuckets(lower, plan.to)
      // Buckets are disjoint months: read the first page of several in parallel, emit them in order.
      stream =
        buckets.length === 1
          ? partitionStream(ctx, stats, plan, part(buckets[0] as string), lower, now, limit)
          : Stream.fromIterable(buckets).pipe(
              Stream.mapEffect(
                (bucket) =>
                  Effect.map(queryPage(ctx, stats, plan, part(bucket), lower, now, limit, undefined), (first) => ({
                    bucket,
                    first,
                  })),
                { concurrency: ctx.bucketConcurrency },
              ),
              Stream.flatMap(({ bucket, first }) =>
                partitionStream(ctx, stats, plan, part(bucket), lower, now, limit, first),
              ),
            )
      break
    }
    case "Customer":
      stream = partitionStream(
        ctx,
        stats,
        plan,
        {
          ...partitionOf("CustomerTimeIndex"),
          pkValue: Items.customerPk(plan.target.customer),
          kindFilter: plan.kind,
        },
        lower,
        now,
        limit,
      )
      break
    case "Status": {
      // Each partition is sorted by (time, id) within one kind: the merge orders them by (time, kind, id).
      // A page of `limit` takes about limit/parts from each shard (the hash spreads them evenly), so each
      // shard's first DynamoDB page asks for a little more than its share, not for `limit`: reading 8
      // shards costs about one page of items, not eight. A skewed shard pages on, as the merge pulls it.
      const parts = statusParts(ctx, plan, plan.target.status)
      stream =
        parts.length === 1
          ? partitionStream(ctx, stats, plan, parts[0] as Partition, lower, now, limit)
          : Stream.suspend(() => {
              const next = mergedPartitions(ctx, stats, plan, parts, lower, now, limit)
              return Stream.repeatEffectChunkOption(
                Effect.flatMap(Effect.mapError(next, Option.some), (items) =>
                  items.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(Chunk.unsafeFromArray(items)),
                ),
              )
            })
      break
    }
  }
  return QueryPlan.strictlyAfter(after)(stream)
}

// The latency histogram of each index, tagged once (tagging builds a new metric key per call).
const latencyOf: Record<SummaryIndex, Metric.Metric.Histogram<number>> = {
  TimeRangeIndex: Metric.tagged(CacheMetrics.queryLatency, "index", "TimeRangeIndex"),
  CustomerTimeIndex: Metric.tagged(CacheMetrics.queryLatency, "index", "CustomerTimeIndex"),
  StatusTimeIndex: Metric.tagged(CacheMetrics.queryLatency, "index", "StatusTimeIndex"),
}

/** `self`, its latency recorded on success: plain combinators, no generator (once per page). */
const timed = <A, E, R>(index: SummaryIndex, start: number, self: Effect.Effect<A, E, R>) =>
  Effect.tap(self, () => Effect.flatMap(Clock.currentTimeMillis, (end) => Metric.update(latencyOf[index], end - start)))

/**
 * The end of a query stream: its latency recorded and one log line with its outcome, in one step
 * of the fiber when the line is a debug line below the minimum level (what `Metric.update` does,
 * with the fiber's metric labels; no annotations built).
 */
const queryFinished = (
  ctx: Ctx,
  plan: QueryPlan.Plan,
  index: SummaryIndex,
  stats: Stats,
  start: number,
  items: number,
  exit: Exit.Exit<unknown, unknown>,
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const durationMs = clock.unsafeCurrentTimeMillis() - start
    latencyOf[index].unsafeUpdate(durationMs, fiber.getFiberRef(FiberRef.currentMetricLabels))
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    const outcome = Exit.isSuccess(exit)
      ? "ok"
      : Option.isSome(failure)
        ? OperationLog.errorOutcome(failure.value)
        : Cause.isInterruptedOnly(exit.cause)
          ? "interrupted"
          : "defect"
    const quiet = outcome === "ok" || outcome === "interrupted"
    // A debug line below the minimum level is never written: do not build its annotations.
    if (quiet && !LogLevel.greaterThanEqual(LogLevel.Debug, fiber.getFiberRef(FiberRef.currentMinimumLogLevel)))
      return Effect.void
    return (quiet ? Effect.logDebug("cache.query") : Effect.logWarning("cache.query")).pipe(
      Effect.annotateLogs({
        operation: "cache.query",
        outcome,
        table: ctx.table,
        index,
        range: plan.description,
        items,
        ...statsFields(stats),
        durationMs,
      }),
    )
  })

/**
 * `Stream.unwrap` as one channel: `Stream.unwrap` is `flatten(fromEffect(effect))`, a stream of one
 * stream run through `flatMap`'s per-element machinery; sequencing the channels is the same stream
 * (the effect runs when the stream is pulled, its failure fails the stream) for less work. Measured
 * over canned DynamoDB answers (load 10): ~0.6 ms CPU less per one-page query.
 */
const unwrapped = <A, E, E2>(effect: Effect.Effect<Stream.Stream<A, E2>, E>): Stream.Stream<A, E | E2> =>
  Stream.fromChannel(Channel.unwrap(Effect.map(effect, Stream.toChannel)))

/** `DocumentCache.query`: the ordered stream of every match, logged and timed when it ends. */
const query = (ctx: Ctx, query: Parameters<Service["query"]>[0]): ReturnType<Service["query"]> =>
  unwrapped(
    Effect.flatMap(QueryPlan.plan(query, ctx.registry), (plan) =>
      Effect.flatMap(Clock.currentTimeMillis, (start) => streamOf(ctx, plan, start)),
    ),
  )

/** The set-up of {@link query}'s stream, in plain combinators (it runs once per query). */
const streamOf = (
  ctx: Ctx,
  plan: QueryPlan.Plan,
  start: number,
): Effect.Effect<Stream.Stream<Document.Summary, CacheError>> => {
  const stats = newStats()
  let count = 0
  const index = indexOf(plan)
  const finished = (exit: Exit.Exit<unknown, CacheError>) => queryFinished(ctx, plan, index, stats, start, count, exit)
  // A finalizer on the stream's channel, not a scope around it: the same exit, less machinery.
  const counted = (stream: Stream.Stream<Document.Summary, CacheError>) =>
    stream.pipe(
      Stream.mapChunks((chunk) => {
        count += chunk.length
        return chunk
      }),
      Stream.ensuringWith(finished),
    )
  // One partition: its first DynamoDB page read here, so a one-page result (most small queries)
  // is one chunk without the pagination machinery; a failure still ends the stream, logged.
  const single = singlePartition(ctx, plan, plan.from)
  if (single === undefined) return Effect.succeed(counted(scan(ctx, stats, plan, Option.none(), start, undefined)))
  return Effect.match(queryPage(ctx, stats, plan, single, plan.from, start, undefined, undefined), {
    onFailure: (error) => Stream.ensuringWith(Stream.fail(error), finished),
    onSuccess: (first) => {
      const [items, next] = first
      if (Option.isSome(next))
        return counted(partitionStream(ctx, stats, plan, single, plan.from, start, undefined, first))
      count = items.length
      return Stream.ensuringWith(Stream.fromChunk(items), finished)
    },
  })
}

/** Up to `want` matches strictly after `after`: one partition read directly, a status query's shards merged, else the scan. */
const collectAfter = (
  ctx: Ctx,
  stats: Stats,
  plan: QueryPlan.Plan,
  now: number,
  after: Option.Option<QueryPlan.Position>,
  want: number,
): Effect.Effect<ReadonlyArray<Document.Summary>, CacheError> => {
  const lower = lowerBound(plan, after)
  const single = singlePartition(ctx, plan, lower)
  if (single !== undefined) return collectPartition(ctx, stats, plan, single, lower, now, want, after)
  return plan.target._tag === "Status"
    ? collectMerged(ctx, stats, plan, statusParts(ctx, plan, plan.target.status), lower, now, want, after)
    : QueryPlan.collectStream((a, w) => scan(ctx, stats, plan, a, now, w))(after, want)
}

/** `DocumentCache.page`: one page of matches and the cursor after it, logged and timed (plain combinators). */
const page: (ctx: Ctx, ...args: Parameters<Service["page"]>) => ReturnType<Service["page"]> = (
  ctx,
  query,
  pageOptions,
) =>
  Effect.flatMap(QueryPlan.plan(query, ctx.registry), (plan) => {
    const stats = newStats()
    const index = indexOf(plan)
    return log(
      "cache.page",
      { table: ctx.table, index, range: plan.description, limit: pageOptions.limit, stats },
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        timed(
          index,
          now,
          QueryPlan.page(
            plan,
            pageOptions,
            (after, want) => collectAfter(ctx, stats, plan, now, after, want),
            QueryPlan.isComplete(plan.from, ctx.retentionDays, now),
          ),
        ),
      ),
      (page) => ({ items: page.items.length, complete: page.complete, more: Option.isSome(page.cursor) }),
      "debug",
    )
  })

/** The queries of the backend: the steps above, over the backend built once. */
export const make = (backend: Backend, bucketConcurrency: number): Pick<Service, "query" | "page"> => {
  const ctx: Ctx = { ...backend, bucketConcurrency }
  return {
    query: (q) => query(ctx, q),
    page: (q, pageOptions) => page(ctx, q, pageOptions),
  }
}

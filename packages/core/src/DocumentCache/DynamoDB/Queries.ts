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
 * @since 0.2.0
 */
import { QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "../../CacheEntry.js"
import * as CacheMetrics from "../../CacheMetrics.js"
import type * as Document from "../../Document.js"
import { CacheError, type Service } from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import { pagedMerge } from "../../internal/merge.js"
import * as QueryPlan from "../../internal/query.js"
import * as OperationLog from "../../OperationLog.js"
import * as Table from "../../Table.js"
import { type Backend, cacheError, log, newStats, S, type Stats } from "./Call.js"

type SummaryIndex = "TimeRangeIndex" | "CustomerTimeIndex" | "StatusTimeIndex"

const partitionOf = (name: SummaryIndex) => {
  const index = Table.index(name)
  return { index: index.name, pkName: index.partitionKey, skName: index.sortKey }
}

/** The queries of the backend. */
export const make = (backend: Backend, bucketConcurrency: number): Pick<Service, "query" | "page"> => {
  const { client, table, registry, call, statusShards } = backend

  /** Every StatusTimeIndex partition a status query reads: one per kind and shard. */
  const statusParts = (plan: QueryPlan.Plan, status: string): ReadonlyArray<Partition> =>
    plan.kinds.flatMap((kind) =>
      Items.statusPartitions(kind, status, statusShards).map(
        (pkValue): Partition => ({ ...partitionOf("StatusTimeIndex"), pkValue, kindFilter: undefined }),
      ),
    )

  interface Partition {
    readonly index: SummaryIndex
    readonly pkName: string
    readonly pkValue: string
    readonly skName: string
    /** Whether the kind must be filtered (partitions of several kinds). */
    readonly kindFilter: string | undefined
  }

  const indexOf = (plan: QueryPlan.Plan) =>
    plan.target._tag === "Time"
      ? "TimeRangeIndex"
      : plan.target._tag === "Customer"
        ? "CustomerTimeIndex"
        : "StatusTimeIndex"

  /** One DynamoDB page of a partition, decoded and filtered (expiry, kind, range) on our side too. */
  const queryPage = (
    stats: Stats,
    plan: QueryPlan.Plan,
    part: Partition,
    lower: string,
    now: number,
    limit: number | undefined,
    start: Items.Item | undefined,
  ): Effect.Effect<readonly [Chunk.Chunk<Document.Summary>, Option.Option<Items.Item>], CacheError> => {
    const input: QueryCommandInput = {
      TableName: table,
      IndexName: part.index,
      KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :lo AND :hi",
      FilterExpression: part.kindFilter !== undefined ? "#exp > :now AND #kind = :kind" : "#exp > :now",
      ExpressionAttributeNames: {
        "#pk": part.pkName,
        "#sk": part.skName,
        "#exp": Table.definition.ttlAttribute,
        ...(part.kindFilter !== undefined ? { "#kind": "kind" } : {}),
      },
      ExpressionAttributeValues: {
        ":pk": S(part.pkValue),
        // Sort keys start with the instant and then `#`: BETWEEN from AND to is exactly [from, to).
        ":lo": S(lower),
        ":hi": S(plan.to),
        ":now": { N: String(Math.floor(now / 1000)) },
        ...(part.kindFilter !== undefined ? { ":kind": S(part.kindFilter) } : {}),
      },
      ReturnConsumedCapacity: "TOTAL",
      ...(limit !== undefined ? { Limit: limit } : {}),
      ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
    }
    return call(stats, (abortSignal) => client.send(new QueryCommand(input), { abortSignal })).pipe(
      Effect.mapError(cacheError("query", plan.description)),
      Effect.flatMap((out) => {
        const summaries: Array<Document.Summary> = []
        for (const item of out.Items ?? []) {
          const decoded = Items.summaryFromItem(item)
          if (Either.isLeft(decoded)) {
            return Effect.fail(
              new CacheError({ reason: "Corrupt", operation: "query", key: plan.description, cause: decoded.left }),
            )
          }
          const s = decoded.right
          if (!CacheEntry.isExpired(s.expiresAt, now) && QueryPlan.matches(plan, s))
            summaries.push(QueryPlan.toSummary(s))
        }
        return Effect.succeed([Chunk.unsafeFromArray(summaries), Option.fromNullable(out.LastEvaluatedKey)] as const)
      }),
    )
  }

  const partitionStream = (
    stats: Stats,
    plan: QueryPlan.Plan,
    part: Partition,
    lower: string,
    now: number,
    limit: number | undefined,
    first?: readonly [Chunk.Chunk<Document.Summary>, Option.Option<Items.Item>],
  ): Stream.Stream<Document.Summary, CacheError> => {
    const rest = (start: Items.Item) =>
      Stream.paginateChunkEffect(start, (s) => queryPage(stats, plan, part, lower, now, limit, s))
    if (first === undefined) {
      return Stream.paginateChunkEffect(undefined as Items.Item | undefined, (s) =>
        queryPage(stats, plan, part, lower, now, limit, s),
      )
    }
    return Stream.concat(
      Stream.fromChunk(first[0]),
      Option.match(first[1], { onNone: () => Stream.empty, onSome: rest }),
    )
  }

  const lowerBound = (plan: QueryPlan.Plan, after: Option.Option<QueryPlan.Position>): string =>
    Option.match(after, {
      onNone: () => plan.from,
      onSome: (p) => (p.time.localeCompare(plan.from) > 0 ? p.time : plan.from),
    })

  /** The one partition a query reads, when it reads one (no fan-out, no merge). */
  const singlePartition = (plan: QueryPlan.Plan, lower: string): Partition | undefined => {
    switch (plan.target._tag) {
      case "Time": {
        const buckets = Items.timeBuckets(lower, plan.to)
        return buckets.length === 1
          ? {
              index: "TimeRangeIndex",
              pkName: "timePk",
              pkValue: buckets[0] as string,
              skName: "timeSk",
              kindFilter: plan.kind,
            }
          : undefined
      }
      case "Customer":
        return {
          ...partitionOf("CustomerTimeIndex"),
          pkValue: Items.customerPk(plan.target.customer),
          kindFilter: plan.kind,
        }
      case "Status": {
        const parts = statusParts(plan, plan.target.status)
        return parts.length === 1 ? parts[0] : undefined
      }
    }
  }

  /** Up to `want` matches of one partition strictly after `after`: DynamoDB pages read until filled. */
  const collectPartition = (
    stats: Stats,
    plan: QueryPlan.Plan,
    part: Partition,
    lower: string,
    now: number,
    want: number,
    after: Option.Option<QueryPlan.Position>,
  ): Effect.Effect<ReadonlyArray<Document.Summary>, CacheError> =>
    Effect.gen(function* () {
      const out: Array<Document.Summary> = []
      let start: Items.Item | undefined
      do {
        const [chunk, next] = yield* queryPage(stats, plan, part, lower, now, want, start)
        for (const summary of chunk) {
          if (Option.isSome(after) && QueryPlan.compare(summary, after.value) <= 0) continue
          out.push(summary)
          if (out.length >= want) return out
        }
        start = Option.getOrUndefined(next)
      } while (start !== undefined)
      return out
    })

  /**
   * The merge of several partitions (a status query's shards), read page by page without a
   * stream per partition: each run of the effect yields the next matches in order, an empty
   * array at the end. Call it inside `Effect.suspend` (it holds the merge's state).
   */
  const mergedPartitions = (
    stats: Stats,
    plan: QueryPlan.Plan,
    parts: ReadonlyArray<Partition>,
    lower: string,
    now: number,
    limit: number | undefined,
  ): Effect.Effect<ReadonlyArray<Document.Summary>, CacheError> => {
    // Each partition is sorted by (time, id) within one kind: the merge orders them by (time, kind, id).
    // A page of `limit` takes about limit/parts from each shard (the hash spreads them evenly), so each
    // shard's first DynamoDB page asks for a little more than its share, not for `limit`: reading 8
    // shards costs about one page of items, not eight. A skewed shard pages on, as the merge needs it.
    const share = limit === undefined ? undefined : Math.ceil((limit * 1.25) / parts.length) + 1
    return pagedMerge(
      parts.map(
        (part) => (start: Items.Item | undefined) =>
          Effect.map(
            queryPage(stats, plan, part, lower, now, share, start),
            ([chunk, next]) => [Chunk.toReadonlyArray(chunk), Option.getOrUndefined(next)] as const,
          ),
      ),
      QueryPlan.compare,
    )
  }

  /** Up to `want` matches of several partitions strictly after `after`, merged in order. */
  const collectMerged = (
    stats: Stats,
    plan: QueryPlan.Plan,
    parts: ReadonlyArray<Partition>,
    lower: string,
    now: number,
    want: number,
    after: Option.Option<QueryPlan.Position>,
  ): Effect.Effect<ReadonlyArray<Document.Summary>, CacheError> =>
    Effect.suspend(() => {
      const next = mergedPartitions(stats, plan, parts, lower, now, want)
      const out: Array<Document.Summary> = []
      const loop: Effect.Effect<ReadonlyArray<Document.Summary>, CacheError> = Effect.flatMap(next, (items) => {
        if (items.length === 0) return Effect.succeed(out)
        for (const summary of items) {
          if (Option.isSome(after) && QueryPlan.compare(summary, after.value) <= 0) continue
          out.push(summary)
          if (out.length >= want) return Effect.succeed(out)
        }
        return loop
      })
      return loop
    })

  /** The ordered stream of matches strictly after `after`. */
  const scan = (
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
            ? partitionStream(stats, plan, part(buckets[0] as string), lower, now, limit)
            : Stream.fromIterable(buckets).pipe(
                Stream.mapEffect(
                  (bucket) =>
                    Effect.map(queryPage(stats, plan, part(bucket), lower, now, limit, undefined), (first) => ({
                      bucket,
                      first,
                    })),
                  { concurrency: bucketConcurrency },
                ),
                Stream.flatMap(({ bucket, first }) =>
                  partitionStream(stats, plan, part(bucket), lower, now, limit, first),
                ),
              )
        break
      }
      case "Customer":
        stream = partitionStream(
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
        const parts = statusParts(plan, plan.target.status)
        stream =
          parts.length === 1
            ? partitionStream(stats, plan, parts[0] as Partition, lower, now, limit)
            : Stream.suspend(() => {
                const next = mergedPartitions(stats, plan, parts, lower, now, limit)
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

  const timed = <A, E, R>(index: SummaryIndex, self: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const start = yield* Clock.currentTimeMillis
      const result = yield* self
      yield* Metric.update(latencyOf[index], (yield* Clock.currentTimeMillis) - start)
      return result
    })

  return {
    query: (query) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const plan = yield* QueryPlan.plan(query, registry)
          const stats = newStats()
          const start = yield* Clock.currentTimeMillis
          let count = 0
          const index = indexOf(plan)
          // A finalizer on the stream's channel, not a scope around it: the same exit, less machinery.
          return scan(stats, plan, Option.none(), start, undefined).pipe(
            Stream.mapChunks((chunk) => {
              count += chunk.length
              return chunk
            }),
            Stream.ensuringWith((exit) =>
              Effect.gen(function* () {
                const durationMs = (yield* Clock.currentTimeMillis) - start
                yield* Metric.update(latencyOf[index], durationMs)
                const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
                const outcome = Exit.isSuccess(exit)
                  ? "ok"
                  : Option.isSome(failure)
                    ? OperationLog.errorOutcome(failure.value)
                    : Cause.isInterruptedOnly(exit.cause)
                      ? "interrupted"
                      : "defect"
                yield* (
                  outcome === "ok" || outcome === "interrupted"
                    ? Effect.logDebug("cache.query")
                    : Effect.logWarning("cache.query")
                ).pipe(
                  Effect.annotateLogs({
                    operation: "cache.query",
                    outcome,
                    table,
                    index,
                    range: plan.description,
                    items: count,
                    ...stats,
                    durationMs,
                  }),
                )
              }),
            ),
          )
        }),
      ),
    page: (query, pageOptions) => {
      const stats = newStats()
      return Effect.flatMap(QueryPlan.plan(query, registry), (plan) =>
        log(
          "cache.page",
          { table, index: indexOf(plan), range: plan.description, limit: pageOptions.limit, stats },
          timed(
            indexOf(plan),
            Effect.gen(function* () {
              const now = yield* Clock.currentTimeMillis
              return yield* QueryPlan.page(
                plan,
                pageOptions,
                (after, want) => {
                  const lower = lowerBound(plan, after)
                  const single = singlePartition(plan, lower)
                  if (single !== undefined) return collectPartition(stats, plan, single, lower, now, want, after)
                  return plan.target._tag === "Status"
                    ? collectMerged(stats, plan, statusParts(plan, plan.target.status), lower, now, want, after)
                    : QueryPlan.collectStream((a, w) => scan(stats, plan, a, now, w))(after, want)
                },
                QueryPlan.isComplete(plan.from, backend.retentionDays, now),
              )
            }),
          ),
          (page) => ({ items: page.items.length, complete: page.complete, more: Option.isSome(page.cursor) }),
          "debug",
        ),
      )
    },
  }
}

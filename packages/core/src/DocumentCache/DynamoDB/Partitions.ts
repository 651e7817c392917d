/**
 * The partition steps of the DynamoDB backend's queries (`Queries` composes
 * them): one summary-index partition read a DynamoDB page at a time, decoded and
 * filtered on our side too, as a stream or collected up to a count, and several
 * partitions (a status query's shards) merged in order page by page.
 *
 * @since 0.2.0
 */
import { QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Document from "../../Document.js"
import { CacheError } from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import { pagedMerge } from "../../internal/merge.js"
import * as QueryPlan from "../../internal/query.js"
import * as Table from "../../Table.js"
import { type Backend, cacheError, S, type Stats } from "./Call.js"

export type SummaryIndex = "TimeRangeIndex" | "CustomerTimeIndex" | "StatusTimeIndex"

export const partitionOf = (name: SummaryIndex) => {
  const index = Table.index(name)
  return { index: index.name, pkName: index.partitionKey, skName: index.sortKey }
}

// The partitions of each (shards, status, kinds) asked: a pure function of names the plan has
// validated against the registry (so few keys), built once instead of twice per query and page.
const statusPartsCache = new Map<string, ReadonlyArray<Partition>>()

/** Every StatusTimeIndex partition a status query reads: one per kind and shard. */
export const statusParts = (backend: Backend, plan: QueryPlan.Plan, status: string): ReadonlyArray<Partition> => {
  const key = JSON.stringify([backend.statusShards, status, plan.kinds])
  let parts = statusPartsCache.get(key)
  if (parts === undefined) {
    const index = partitionOf("StatusTimeIndex")
    parts = plan.kinds.flatMap((kind) =>
      Items.statusPartitions(kind, status, backend.statusShards).map(
        (pkValue): Partition => ({ ...index, pkValue, kindFilter: undefined }),
      ),
    )
    statusPartsCache.set(key, parts)
  }
  return parts
}

export interface Partition {
  readonly index: SummaryIndex
  readonly pkName: string
  readonly pkValue: string
  readonly skName: string
  /** Whether the kind must be filtered (partitions of several kinds). */
  readonly kindFilter: string | undefined
}

/** One DynamoDB page of a partition, decoded and filtered (expiry, kind, range) on our side too. */
export const queryPage = (
  backend: Backend,
  stats: Stats,
  plan: QueryPlan.Plan,
  part: Partition,
  lower: string,
  now: number,
  limit: number | undefined,
  start: Items.Item | undefined,
): Effect.Effect<readonly [Chunk.Chunk<Document.Summary>, Option.Option<Items.Item>], CacheError> => {
  const input: QueryCommandInput = {
    TableName: backend.table,
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
    ...backend.capacity,
    ...(limit !== undefined ? { Limit: limit } : {}),
    ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
  }
  return backend
    .call(stats, (abortSignal) => backend.client.send(new QueryCommand(input), { abortSignal }))
    .pipe(
      Effect.mapError(cacheError("query", plan.description)),
      Effect.flatMap((out) => {
        const summaries: Array<Document.Summary> = []
        for (const item of out.Items ?? []) {
          // One walk over the item: fields checked, expiry compared, the summary built once.
          const decoded = Items.liveSummaryFromItem(item, now)
          if (Either.isLeft(decoded)) {
            return Effect.fail(
              new CacheError({ reason: "Corrupt", operation: "query", key: plan.description, cause: decoded.left }),
            )
          }
          const s = decoded.right
          if (s !== undefined && QueryPlan.matches(plan, s)) summaries.push(s)
        }
        return Effect.succeed([Chunk.unsafeFromArray(summaries), Option.fromNullable(out.LastEvaluatedKey)] as const)
      }),
    )
}

export const partitionStream = (
  backend: Backend,
  stats: Stats,
  plan: QueryPlan.Plan,
  part: Partition,
  lower: string,
  now: number,
  limit: number | undefined,
  first?: readonly [Chunk.Chunk<Document.Summary>, Option.Option<Items.Item>],
): Stream.Stream<Document.Summary, CacheError> => {
  const pages = (start: Items.Item | undefined) =>
    Stream.paginateChunkEffect(start, (s) => queryPage(backend, stats, plan, part, lower, now, limit, s))
  if (first === undefined) return pages(undefined)
  return Stream.concat(
    Stream.fromChunk(first[0]),
    Option.match(first[1], { onNone: () => Stream.empty, onSome: pages }),
  )
}

/** The one partition a query reads, when it reads one (no fan-out, no merge). */
export const singlePartition = (backend: Backend, plan: QueryPlan.Plan, lower: string): Partition | undefined => {
  switch (plan.target._tag) {
    case "Time": {
      const buckets = Items.timeBuckets(lower, plan.to)
      return buckets.length === 1
        ? { ...partitionOf("TimeRangeIndex"), pkValue: buckets[0] as string, kindFilter: plan.kind }
        : undefined
    }
    case "Customer":
      return {
        ...partitionOf("CustomerTimeIndex"),
        pkValue: Items.customerPk(plan.target.customer),
        kindFilter: plan.kind,
      }
    case "Status": {
      const parts = statusParts(backend, plan, plan.target.status)
      return parts.length === 1 ? parts[0] : undefined
    }
  }
}

/** Up to `want` matches of one partition strictly after `after`: DynamoDB pages read until filled. */
export const collectPartition = (
  backend: Backend,
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
      const [chunk, next] = yield* queryPage(backend, stats, plan, part, lower, now, want, start)
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
export const mergedPartitions = (
  backend: Backend,
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
          queryPage(backend, stats, plan, part, lower, now, share, start),
          ([chunk, next]) => [Chunk.toReadonlyArray(chunk), Option.getOrUndefined(next)] as const,
        ),
    ),
    QueryPlan.compare,
  )
}

/** Up to `want` matches of several partitions strictly after `after`, merged in order. */
export const collectMerged = (
  backend: Backend,
  stats: Stats,
  plan: QueryPlan.Plan,
  parts: ReadonlyArray<Partition>,
  lower: string,
  now: number,
  want: number,
  after: Option.Option<QueryPlan.Position>,
): Effect.Effect<ReadonlyArray<Document.Summary>, CacheError> =>
  Effect.suspend(() => {
    const next = mergedPartitions(backend, stats, plan, parts, lower, now, want)
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

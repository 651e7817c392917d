/**
 * The memory cache's read steps over many documents: queries and pages (a status query
 * reads its shards as sorted partitions merged in order, like the DynamoDB backend),
 * fingerprints and the segmented scan of reconcile. `make` in `memoryCache.ts` binds them.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "../CacheEntry.js"
import type * as Document from "../Document.js"
import * as Table from "../Table.js"
import * as Bulk from "./bulk.js"
import { type Memory, pk, type Step, storedEntry } from "./memoryState.js"
import { mergeSorted } from "./merge.js"
import * as QueryPlan from "./query.js"

const matching = (m: Memory, plan: QueryPlan.Plan, now: number): Array<Document.Summary> =>
  [...m.items.values()].flatMap(({ committed }) =>
    committed !== undefined &&
    committed.entry._tag === "Cached" &&
    !CacheEntry.isExpired(committed.entry.expiresAt, now) &&
    QueryPlan.matches(plan, committed.entry.summary)
      ? [committed.entry.summary]
      : [],
  )

// A status query reads its partitions the way DynamoDB does: one sorted stream per kind and
// shard, merged in order (the same merge as the DynamoDB backend).
const scan = (m: Memory, plan: QueryPlan.Plan, now: number): Stream.Stream<Document.Summary> =>
  Stream.suspend(() => {
    const found = matching(m, plan, now)
    if (plan.target._tag !== "Status") return Stream.fromIterable(found.sort(QueryPlan.compare))
    const status = plan.target.status
    const partitions = new Map(
      plan.kinds.flatMap((kind) =>
        Table.statusPartitions(kind, status, m.statusShards).map((key) => [key, [] as Array<Document.Summary>]),
      ),
    )
    for (const s of found) partitions.get(Table.statusPkOf(s.kind, s.status, s.id, m.statusShards))?.push(s)
    return mergeSorted(
      [...partitions.values()].map((part) => Stream.fromIterable(part.sort(QueryPlan.compare))),
      QueryPlan.compare,
    )
  })

export const fingerprints: Step<"fingerprints"> = (m, refs) =>
  Effect.sync(() =>
    [...new Map(refs.map((ref) => [pk(ref.kind, ref.id), ref])).values()].flatMap((ref) =>
      Option.toArray(Option.map(storedEntry(m, ref.kind, ref.id), Bulk.fingerprintOf)),
    ),
  )

export const scanAll: Step<"scan"> = (m, scanOptions) =>
  Stream.suspend(() => {
    const segments = Bulk.segmentCount(scanOptions)
    const entries = [...m.items.entries()].flatMap(([key, item]) =>
      item.committed === undefined ? [] : [[key, item.committed] as const],
    )
    return Stream.mergeAll(
      Array.from({ length: segments }, (_, segment) =>
        Stream.fromIterable(entries).pipe(
          Stream.filter(([key]) => Bulk.segmentOf(key, segments) === segment),
          Stream.map(([, s]) => Bulk.fingerprintOf(s.entry)),
        ),
      ),
      { concurrency: "unbounded" },
    )
  })

export const query: Step<"query"> = (m, query) =>
  Stream.unwrap(
    Effect.gen(function* () {
      const plan = yield* QueryPlan.plan(query, m.registry)
      return scan(m, plan, yield* Clock.currentTimeMillis)
    }),
  )

export const page: Step<"page"> = (m, query, pageOptions) =>
  Effect.gen(function* () {
    const plan = yield* QueryPlan.plan(query, m.registry)
    const now = yield* Clock.currentTimeMillis
    return yield* QueryPlan.page(
      plan,
      pageOptions,
      QueryPlan.collectStream((after) => QueryPlan.strictlyAfter(after)(scan(m, plan, now))),
      QueryPlan.isComplete(plan.from, m.retentionDays, now),
    )
  })

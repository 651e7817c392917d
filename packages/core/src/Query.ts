/**
 * Queries that reach past the retention horizon (DESIGN section 4).
 *
 * The cache only answers for documents whose retention window is still open: a
 * range that starts before `now - DOCKET_TTL_DAYS` comes back from
 * {@link DocumentCache} with `complete: false`. These functions answer the part
 * before the horizon from S3 instead (list the documents, HEAD each for Docket's
 * object metadata, read only the ones that match) and the rest from the cache,
 * in one ordered result. Listing the bucket is slow and costs requests: use it
 * for the occasional historical question, not on a hot path.
 *
 * @example
 * ```ts
 * import * as Query from "@docket/core/Query"
 * const page = yield* Query.pageWithS3Horizon(
 *   { target: { _tag: "Customer", customer: "acme" }, from: "2024-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" },
 *   { limit: 50, retentionDays: 365 },
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as CacheEntry from "./CacheEntry.js"
import type * as Document from "./Document.js"
import {
  type CacheError,
  type CursorError,
  DocumentCache,
  type InvalidQueryError,
  type Page,
  type Query,
} from "./DocumentCache.js"
import type { DocumentDecodeError, DocumentKinds } from "./DocumentKind.js"
import type { DocumentStore, StoreError } from "./DocumentStore.js"
import * as QueryPlan from "./internal/query.js"
import * as Scan from "./internal/scan.js"

/** Options of the horizon-aware queries. */
export interface HorizonOptions {
  /** `DOCKET_TTL_DAYS`: the retention the cache was written with. */
  readonly retentionDays: number
  /** HEAD and GET requests in flight while scanning S3 (default 16). */
  readonly concurrency?: number
}

/** The errors of a horizon-aware query. */
export type HorizonError = CacheError | InvalidQueryError | StoreError | DocumentDecodeError

/** Whether the cache alone can answer `query` completely at `nowMillis`. */
export const isComplete = (query: Query, retentionDays: number, nowMillis: number): boolean =>
  QueryPlan.isComplete(QueryPlan.normalize(query.from), retentionDays, nowMillis)

/** The matches the cache can no longer answer (expired by time), read from S3, in order. */
const beforeHorizon = (plan: QueryPlan.Plan, options: HorizonOptions, now: number) =>
  Effect.map(
    Scan.scan(
      plan,
      (summary) => CacheEntry.isExpired(CacheEntry.expiresAt(summary.time, options.retentionDays), now),
      options.concurrency ?? 16,
    ),
    (result) => result.items,
  )

const combined = (plan: QueryPlan.Plan, query: Query, options: HorizonOptions, now: number) =>
  Stream.unwrap(
    Effect.gen(function* () {
      const cache = yield* DocumentCache
      if (QueryPlan.isComplete(plan.from, options.retentionDays, now)) return cache.query(query)
      const old = yield* beforeHorizon(plan, options, now)
      return Stream.concat(Stream.fromIterable(old), cache.query(query))
    }),
  )

/**
 * Every document matching `query`, in time-then-kind-then-id order: the part
 * before the retention horizon from S3, the rest from the cache.
 */
export const withS3Horizon = (
  query: Query,
  options: HorizonOptions,
): Stream.Stream<Document.Summary, HorizonError, DocumentCache | DocumentStore | DocumentKinds> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const plan = yield* QueryPlan.planOf(query)
      return combined(plan, query, options, yield* Clock.currentTimeMillis)
    }),
  )

/**
 * One page of {@link withS3Horizon}: always `complete`, with a cursor that
 * resumes exactly (cursors of `DocumentCache.page` for the same query work too).
 */
export const pageWithS3Horizon = (
  query: Query,
  options: HorizonOptions & { readonly limit: number; readonly cursor?: string },
): Effect.Effect<Page, HorizonError | CursorError, DocumentCache | DocumentStore | DocumentKinds> =>
  Effect.gen(function* () {
    const plan = yield* QueryPlan.planOf(query)
    const now = yield* Clock.currentTimeMillis
    return yield* QueryPlan.page(
      plan,
      options,
      QueryPlan.collectStream((after) => QueryPlan.strictlyAfter(after)(combined(plan, query, options, now))),
      true,
    )
  })

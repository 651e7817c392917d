/**
 * Queries answered from S3 alone, for when the cache is off (`DOCKET_CACHE=off`,
 * `--no-cache`) or not there yet: the backward-compatible mode an S3-only
 * application migrates from (DESIGN section 5).
 *
 * The answer is the one the cache gives for the same documents (same order:
 * time, kind, id; same half-open range; same cursor contract, so a cursor
 * issued by `DocumentCache.page` resumes here and the other way round), but
 * it costs a listing of the whole document prefix, a HEAD per object (Docket's
 * object metadata filters without reading bodies) and a GET per candidate:
 * seconds to minutes where the cache answers in milliseconds. Every result
 * says so: it carries the requests it made, and the operation logs a warning.
 * Nothing is expired here: S3 keeps every document, so a result is `complete`.
 *
 * @example
 * ```ts
 * import * as StoreQuery from "@docket/core/StoreQuery"
 * const page = yield* StoreQuery.page(
 *   { target: { _tag: "Status", status: "approved" }, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z" },
 *   { limit: 50 },
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Document from "./Document.js"
import type { CursorError, InvalidQueryError, Page, Query } from "./DocumentCache.js"
import type { DocumentDecodeError, DocumentKinds } from "./DocumentKind.js"
import type { DocumentStore, StoreError } from "./DocumentStore.js"
import * as QueryPlan from "./internal/query.js"
import * as Scan from "./internal/scan.js"
import * as OperationLog from "./OperationLog.js"

/** Options of a query answered from S3. */
export interface Options {
  /** HEAD and GET requests in flight (default 16). */
  readonly concurrency?: number
}

/** The S3 requests a query made (listing, HEADs, GETs). */
export type Requests = Scan.ScanCounts

/** A page answered from S3: a {@link Page} plus the requests it took. */
export interface StorePage extends Page {
  readonly source: "s3"
  readonly requests: Requests
}

/** The errors of a query answered from S3. */
export type StoreQueryError = InvalidQueryError | StoreError | DocumentDecodeError

/** The warning every S3-answered query logs (and the CLI prints). */
export const slowerNotice =
  "answered from S3 with the cache off: listed the bucket and read object metadata, slower than the cache"

const run = (plan: QueryPlan.Plan, options: Options) =>
  Scan.scan(plan, () => true, options.concurrency ?? 16).pipe(
    Effect.tap((result) =>
      Effect.annotateCurrentSpan({
        "docket.query": plan.description,
        "docket.requests": result.counts.heads + result.counts.gets,
        "docket.listed": result.counts.listed,
        "docket.items": result.items.length,
      }),
    ),
  )

const logged = (plan: QueryPlan.Plan, operation: string) =>
  OperationLog.logged<Scan.Scan>(
    operation,
    { query: plan.description, source: "s3" },
    { describe: (r) => ({ ...r.counts, items: r.items.length }) },
  )

// Said once per query, at warning level so it shows by default: the answer is correct, but slow.
const warnSlow = (plan: QueryPlan.Plan) => (r: Scan.Scan) =>
  Effect.logWarning(slowerNotice).pipe(Effect.annotateLogs({ query: plan.description, ...r.counts }))

/**
 * Every document matching `query`, in time-then-kind-then-id order, from S3.
 * The stream starts after the whole prefix was scanned (S3 lists by key, not time).
 */
export const stream = (
  query: Query,
  options: Options = {},
): Stream.Stream<Document.Summary, StoreQueryError, DocumentStore | DocumentKinds> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const plan = yield* QueryPlan.planOf(query)
      const result = yield* run(plan, options).pipe(Effect.tap(warnSlow(plan)), logged(plan, "query.s3"))
      return Stream.fromIterable(result.items)
    }),
  ).pipe(Stream.withSpan("StoreQuery.stream", { attributes: { "docket.source": "s3" } }))

/**
 * One page of `query` from S3, resuming at `cursor` (a cursor of this function
 * or of `DocumentCache.page` for the same query): up to `limit` items, and a
 * cursor when more follow.
 */
export const page = (
  query: Query,
  options: Options & { readonly limit: number; readonly cursor?: string },
): Effect.Effect<StorePage, StoreQueryError | CursorError, DocumentStore | DocumentKinds> =>
  Effect.gen(function* () {
    const plan = yield* QueryPlan.planOf(query)
    let requests: Requests = { listed: 0, heads: 0, gets: 0 }
    const result = yield* QueryPlan.page(
      plan,
      options,
      (after, want) =>
        run(plan, options).pipe(
          Effect.tap(warnSlow(plan)),
          logged(plan, "query.s3.page"),
          Effect.map((scanned) => {
            requests = scanned.counts
            const items = Option.isNone(after)
              ? scanned.items
              : scanned.items.filter((s) => QueryPlan.compare(s, after.value) > 0)
            return items.slice(0, want)
          }),
        ),
      true,
    )
    return { ...result, source: "s3" as const, requests }
  }).pipe(Effect.withSpan("StoreQuery.page", { attributes: { "docket.source": "s3" } }))

/**
 * Query validation, ordering, cursors and page assembly shared by every
 * DocumentCache backend (and by Query.ts), so that backends differ only in how
 * they produce the ordered stream of matches.
 *
 * Order: every query result is ordered by (time, kind, id). Each index sort key
 * (`{time}#{kind}#{id}`, or `{time}#{id}` inside one kind's status partition)
 * sorts the same way as text, because instants are fixed-width and kind and id
 * characters all sort after `#`.
 *
 * Cursors are positions, not DynamoDB keys: the (time, kind, id) of the last
 * item of the page. Resuming re-runs the query from that time and skips what is
 * not strictly after it, in every bucket or partition. Sort keys are unique
 * within a partition, so this resumes exactly, also across time buckets.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "../CacheEntry.js"
import { CursorError, InvalidQueryError } from "../CacheError.js"
import * as Document from "../Document.js"
import { DocumentKinds, type Registry } from "../DocumentKind.js"
import type { Query, QueryTarget } from "./cacheTypes.js"

/** Where a query resumes: strictly after this item. */
export interface Position {
  readonly time: string
  readonly kind: string
  readonly id: string
}

/** A validated query with normalised instants. */
export interface Plan {
  readonly target: QueryTarget
  /** Normalised instants. */
  readonly from: string
  readonly to: string
  readonly kind: string | undefined
  /** The kinds whose documents can match (status queries: those that have the status). */
  readonly kinds: ReadonlyArray<string>
  /** Identifies the query in cursors. */
  readonly fingerprint: string
  /** For log lines: `time [from, to)`, `customer acme [from, to)`. */
  readonly description: string
}

const instantOf = (label: string, value: string): Either.Either<string, InvalidQueryError> =>
  Option.match(typeof value === "string" ? Document.parseInstant(value) : Option.none(), {
    onNone: () =>
      Either.left(
        new InvalidQueryError({
          reason: "BadRange",
          detail: `${label} ${JSON.stringify(value)} is not an ISO-8601 date (2026-11-01) or date-time with a zone (2026-11-01T09:00:00Z)`,
        }),
      ),
    onSome: Either.right,
  })

const bad = (reason: InvalidQueryError["reason"], detail: string) =>
  Either.left(new InvalidQueryError({ reason, detail }))

/** Validates a query against the registered kinds. */
export const plan = (query: Query, registry: Registry): Either.Either<Plan, InvalidQueryError> =>
  Either.gen(function* () {
    const from = yield* instantOf("from", query.from)
    const to = yield* instantOf("to", query.to)
    if (from >= to) {
      return yield* bad("BadRange", `from (${query.from}) must be before to (${query.to}): the range is [from, to)`)
    }
    const known = registry.kinds.map((k) => k.name)
    if (query.kind !== undefined && registry.get(query.kind) === undefined) {
      return yield* bad(
        "UnknownKind",
        `Unknown kind ${JSON.stringify(query.kind)}: expected one of ${known.join(", ")}`,
      )
    }
    const candidates = query.kind !== undefined ? [query.kind] : known
    let kinds = candidates
    const target = query.target
    let what: string
    switch (target._tag) {
      case "Time":
        what = "time"
        break
      case "Customer":
        if (!Document.isCustomerCode(target.customer)) {
          return yield* bad(
            "BadCustomer",
            `Customer code ${JSON.stringify(target.customer)} does not match ${Document.customerCodeRule}`,
          )
        }
        what = `customer ${target.customer}`
        break
      case "Status": {
        kinds = candidates.filter((name) => registry.get(name)?.statuses.includes(target.status) === true)
        if (kinds.length === 0) {
          const statuses = candidates.flatMap((name) => registry.get(name)?.statuses ?? [])
          return yield* bad(
            "UnknownStatus",
            `Unknown status ${JSON.stringify(target.status)}${query.kind !== undefined ? ` for kind ${query.kind}` : ""}: expected one of ${[...new Set(statuses)].join(", ")}`,
          )
        }
        what = `status ${target.status}`
        break
      }
    }
    const key = JSON.stringify([
      target._tag,
      target._tag === "Customer" ? target.customer : target._tag === "Status" ? target.status : "",
      from,
      to,
      query.kind ?? "",
    ])
    return {
      target,
      from,
      to,
      kind: query.kind,
      kinds,
      fingerprint: createHash("sha256").update(key).digest("base64url").slice(0, 16),
      description: `${what}${query.kind !== undefined ? ` kind ${query.kind}` : ""} [${from}, ${to})`,
    }
  })

/**
 * {@link plan} over the kinds registered in context: the first step of every
 * query, whichever backend answers it.
 */
export const planOf = (query: Query): Effect.Effect<Plan, InvalidQueryError, DocumentKinds> =>
  Effect.flatMap(DocumentKinds, (registry) => plan(query, registry))

/** The largest page a query returns at once. */
export const maxLimit = 1000

/** Validates a page limit: an integer from 1 to {@link maxLimit}. */
export const checkLimit = (limit: number): Effect.Effect<void, InvalidQueryError> =>
  Number.isInteger(limit) && limit >= 1 && limit <= maxLimit
    ? Effect.void
    : Effect.fail(
        new InvalidQueryError({
          reason: "BadLimit",
          detail: `limit ${limit} must be an integer from 1 to ${maxLimit}`,
        }),
      )

/** The result order: time, then kind, then id. */
export const compare = (a: Position, b: Position): number =>
  a.time < b.time
    ? -1
    : a.time > b.time
      ? 1
      : a.kind < b.kind
        ? -1
        : a.kind > b.kind
          ? 1
          : a.id < b.id
            ? -1
            : a.id > b.id
              ? 1
              : 0

/** Whether a summary matches a plan (range, kind, target), ignoring expiry. */
export const matches = (plan: Plan, summary: Document.Summary): boolean => {
  if (summary.time < plan.from || summary.time >= plan.to) return false
  if (!plan.kinds.includes(summary.kind)) return false
  switch (plan.target._tag) {
    case "Time":
      return true
    case "Customer":
      return summary.customers.includes(plan.target.customer)
    case "Status":
      return summary.status === plan.target.status
  }
}

/**
 * Whether the cache can answer every document in `[from, ...)`: false when a
 * document indexed at `from` would already be expired (before the horizon).
 */
export const isComplete = (from: string, retentionDays: number, nowMillis: number): boolean =>
  !CacheEntry.isExpired(CacheEntry.expiresAt(from, retentionDays), nowMillis)

// The MAC detects tampering and corruption (a cursor is a position, not a
// credential: whoever holds one could run the query anyway).
const macKey = "docket-cursor-v1"

const mac = (payload: string): Buffer => createHmac("sha256", macKey).update(payload).digest().subarray(0, 12)

/** Encodes a position of a query as an opaque, URL-safe cursor. */
export const encodeCursor = (plan: Plan, position: Position): string => {
  const payload = Buffer.from(
    JSON.stringify({ v: 1, f: plan.fingerprint, t: position.time, k: position.kind, i: position.id }),
  ).toString("base64url")
  return `${payload}.${mac(payload).toString("base64url")}`
}

/** Decodes a cursor of `plan`: malformed, tampered or foreign cursors are a {@link CursorError}. */
export const decodeCursor = (plan: Plan, cursor: string): Either.Either<Position, CursorError> => {
  const fail = (detail: string) => Either.left(new CursorError({ cursor, detail }))
  if (typeof cursor !== "string" || cursor.length > 2048) return fail("not a cursor Docket issued")
  const parts = cursor.split(".")
  const [payload, tag] = parts
  if (parts.length !== 2 || payload === undefined || tag === undefined || !/^[A-Za-z0-9_-]+$/.test(payload + tag)) {
    return fail("not a cursor Docket issued")
  }
  const expected = Buffer.from(mac(payload).toString("base64url"))
  const given = Buffer.from(tag)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail("the cursor was altered or truncated")
  }
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
  } catch {
    return fail("the cursor was altered or truncated")
  }
  const value = decoded as { v?: unknown; f?: unknown; t?: unknown; k?: unknown; i?: unknown }
  if (
    value === null ||
    typeof value !== "object" ||
    value.v !== 1 ||
    typeof value.f !== "string" ||
    typeof value.t !== "string" ||
    typeof value.k !== "string" ||
    typeof value.i !== "string"
  ) {
    return fail("unsupported cursor version")
  }
  if (value.f !== plan.fingerprint) return fail("the cursor belongs to another query (range, target or kind differ)")
  return Either.right({ time: value.t, kind: value.k, id: value.i })
}

/** Drops what is not strictly after `after`. */
export const strictlyAfter =
  (after: Option.Option<Position>) =>
  <E, R>(stream: Stream.Stream<Document.Summary, E, R>): Stream.Stream<Document.Summary, E, R> =>
    Option.isNone(after) ? stream : Stream.filter(stream, (s) => compare(s, after.value) > 0)

/**
 * One page: up to `limit` items of the ordered stream that starts after the
 * cursor's position; a cursor when more items follow (peeks one item ahead).
 */
export const page = <E, R>(
  plan: Plan,
  options: { readonly limit: number; readonly cursor?: string | undefined },
  collect: (after: Option.Option<Position>, want: number) => Effect.Effect<ReadonlyArray<Document.Summary>, E, R>,
  complete: boolean,
): Effect.Effect<
  {
    readonly items: ReadonlyArray<Document.Summary>
    readonly cursor: Option.Option<string>
    readonly complete: boolean
  },
  E | CursorError | InvalidQueryError,
  R
> =>
  Effect.gen(function* () {
    yield* checkLimit(options.limit)
    const after = options.cursor === undefined ? Option.none() : Option.some(yield* decodeCursor(plan, options.cursor))
    const items = yield* collect(after, options.limit + 1)
    const more = items.length > options.limit
    const pageItems = more ? items.slice(0, options.limit) : items
    const last = pageItems[pageItems.length - 1]
    return {
      items: pageItems,
      cursor: more && last !== undefined ? Option.some(encodeCursor(plan, last)) : Option.none(),
      complete,
    }
  })

/** Adapts an ordered stream to {@link page}: takes the first `want` items. */
export const collectStream =
  <E, R>(stream: (after: Option.Option<Position>, want: number) => Stream.Stream<Document.Summary, E, R>) =>
  (after: Option.Option<Position>, want: number): Effect.Effect<ReadonlyArray<Document.Summary>, E, R> =>
    Effect.map(Stream.runCollect(Stream.take(stream(after, want), want)), (chunk) => Array.from(chunk))

/** A summary without its `expiresAt`. */
export const toSummary = (s: Document.Summary & { readonly expiresAt?: number }): Document.Summary => ({
  kind: s.kind,
  id: s.id,
  version: s.version,
  title: s.title,
  status: s.status,
  customers: s.customers,
  time: s.time,
})

/** Normalises an instant (exported for Query.ts). */
export const normalize = Document.toInstant

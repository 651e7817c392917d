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
  /** Identifies the query in cursors (computed when first read). */
  readonly fingerprint: string
  /** For log lines: `time [from, to)`, `customer acme [from, to)`. */
  readonly description: string
}

const badRange = (label: string, value: string) =>
  new InvalidQueryError({
    reason: "BadRange",
    detail: `${label} ${JSON.stringify(value)} is not an ISO-8601 date (2026-11-01) or date-time with a zone (2026-11-01T09:00:00Z)`,
  })

/** The normalised instant of `value`, or `undefined` when it is not one. */
const instantOf = (value: string): string | undefined => {
  if (typeof value !== "string") return undefined
  const parsed = Document.parseInstant(value)
  return parsed._tag === "Some" ? parsed.value : undefined
}

const bad = (reason: InvalidQueryError["reason"], detail: string) =>
  Either.left(new InvalidQueryError({ reason, detail }))

/** The cursor fingerprint of a query: computed when a cursor is produced or checked, not per plan. */
const fingerprintOf = (target: QueryTarget, from: string, to: string, kind: string | undefined): (() => string) => {
  let fingerprint: string | undefined
  return () => {
    if (fingerprint === undefined) {
      const key = JSON.stringify([
        target._tag,
        target._tag === "Customer" ? target.customer : target._tag === "Status" ? target.status : "",
        from,
        to,
        kind ?? "",
      ])
      fingerprint = createHash("sha256").update(key).digest("base64url").slice(0, 16)
    }
    return fingerprint
  }
}

/**
 * Validates a query against the registered kinds. Plain checks, no generator: it runs once per
 * query and page, on the hot path.
 */
export const plan = (query: Query, registry: Registry): Either.Either<Plan, InvalidQueryError> => {
  const from = instantOf(query.from)
  if (from === undefined) return Either.left(badRange("from", query.from))
  const to = instantOf(query.to)
  if (to === undefined) return Either.left(badRange("to", query.to))
  if (from >= to) {
    return bad("BadRange", `from (${query.from}) must be before to (${query.to}): the range is [from, to)`)
  }
  const kind = query.kind
  if (kind !== undefined && registry.get(kind) === undefined) {
    const known = registry.kinds.map((k) => k.name)
    return bad("UnknownKind", `Unknown kind ${JSON.stringify(kind)}: expected one of ${known.join(", ")}`)
  }
  const candidates = kind !== undefined ? [kind] : registry.kinds.map((k) => k.name)
  let kinds = candidates
  const target = query.target
  let what: string
  switch (target._tag) {
    case "Time":
      what = "time"
      break
    case "Customer":
      if (!Document.isCustomerCode(target.customer)) {
        return bad(
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
        return bad(
          "UnknownStatus",
          `Unknown status ${JSON.stringify(target.status)}${kind !== undefined ? ` for kind ${kind}` : ""}: expected one of ${[...new Set(statuses)].join(", ")}`,
        )
      }
      what = `status ${target.status}`
      break
    }
  }
  const fingerprint = fingerprintOf(target, from, to, kind)
  return Either.right({
    target,
    from,
    to,
    kind,
    kinds,
    get fingerprint() {
      return fingerprint()
    },
    description: `${what}${kind !== undefined ? ` kind ${kind}` : ""} [${from}, ${to})`,
  })
}

/**
 * {@link plan} over the kinds registered in context: the first step of every
 * query, whichever backend answers it.
 */
export const planOf = (query: Query): Effect.Effect<Plan, InvalidQueryError, DocumentKinds> =>
  Effect.flatMap(DocumentKinds, (registry) => plan(query, registry))

/** The largest page a query returns at once. */
export const maxLimit = 1000

const isLimit = (limit: number): boolean => Number.isInteger(limit) && limit >= 1 && limit <= maxLimit

const badLimit = (limit: number) =>
  new InvalidQueryError({ reason: "BadLimit", detail: `limit ${limit} must be an integer from 1 to ${maxLimit}` })

/** Validates a page limit: an integer from 1 to {@link maxLimit}. */
export const checkLimit = (limit: number): Effect.Effect<void, InvalidQueryError> =>
  isLimit(limit) ? Effect.void : Effect.fail(badLimit(limit))

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
> => {
  // Plain checks and one map, no generator: this runs once per page, on the hot path.
  const limit = options.limit
  if (!isLimit(limit)) return Effect.fail(badLimit(limit))
  let after: Option.Option<Position> = Option.none()
  if (options.cursor !== undefined) {
    const decoded = decodeCursor(plan, options.cursor)
    if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
    after = Option.some(decoded.right)
  }
  return Effect.map(collect(after, limit + 1), (items) => {
    const more = items.length > limit
    const pageItems = more ? items.slice(0, limit) : items
    const last = pageItems[pageItems.length - 1]
    return {
      items: pageItems,
      cursor: more && last !== undefined ? Option.some(encodeCursor(plan, last)) : Option.none(),
      complete,
    }
  })
}

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

/**
 * The two built-in document kinds, `change` and `announcement`, exactly as they
 * are stored on S3 and accepted by the CLI (DESIGN section 3).
 *
 * Each schema is a `Schema.Struct` with a string index signature so that fields
 * Docket does not know are kept, unchanged, through every round trip.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** A field this module does not know, kept as it is. */
const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/
const datePattern = /^\d{4}-\d{2}-\d{2}$/

/**
 * An ISO-8601 timestamp with a date, a time and a zone (`Z` or `±hh:mm`), e.g.
 * `2026-11-30T22:00:00Z`. The text is kept as written; Docket sorts and buckets
 * by its UTC instant (see {@link toInstant}).
 */
export const IsoTimestamp = Schema.String.pipe(
  // One refinement for the form and the calendar (each refinement is a layer of the parser; a
  // document has up to a dozen timestamps): the same messages as a pattern and a filter would give.
  Schema.filter((s) =>
    !timestampPattern.test(s)
      ? `Expected an ISO-8601 timestamp with a zone (e.g. 2026-11-30T22:00:00Z), got ${JSON.stringify(s)}`
      : isRealDateTime(s) || `Not a real date-time: ${s}`,
  ),
  Schema.brand("IsoTimestamp"),
).annotations({ identifier: "IsoTimestamp" })
export type IsoTimestamp = typeof IsoTimestamp.Type

/** The number written by the `n` digits of `s` from `at` (the pattern has checked they are digits). */
const digits = (s: string, at: number, n: number): number => {
  let value = 0
  for (let i = at; i < at + n; i++) value = value * 10 + (s.charCodeAt(i) - 48)
  return value
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * True when the date and time fields of a timestamp of {@link timestampPattern}'s form name a real
 * moment (no 30 February, no 25:00) that `Date` can represent. Years before 100 are refused (as
 * `Date.UTC` reads them as 19xx).
 */
const isRealDateTime = (s: string): boolean => {
  const y = digits(s, 0, 4)
  const mo = digits(s, 5, 2)
  const d = digits(s, 8, 2)
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
  const days = mo === 2 && leap ? 29 : (daysInMonth[mo - 1] ?? 0)
  // Seconds are optional: `hh:mm` may be followed by the zone directly.
  const seconds = s.charCodeAt(16) === 58 ? digits(s, 17, 2) : 0
  return (
    y >= 100 &&
    d >= 1 &&
    d <= days &&
    digits(s, 11, 2) < 24 &&
    digits(s, 14, 2) < 60 &&
    seconds < 60 &&
    !Number.isNaN(Date.parse(s))
  )
}

/**
 * Whether `text` is an {@link IsoTimestamp}: the schema's rule as a predicate, for code that checks
 * many timestamps without the schema's parser (the built-in kinds' fast decode).
 */
export const isIsoTimestamp = (text: string): boolean => timestampPattern.test(text) && isRealDateTime(text)

/**
 * The one parser of instants that people and queries give (`--from`, `--to`, a
 * query's range, backfill filters): an ISO-8601 date (`2026-11-01`, midnight
 * UTC) or a timestamp with a zone (`2026-11-01T09:00:00+01:00`). Returns the
 * normalised UTC instant ({@link toInstant}); `None` for anything else,
 * including dates that do not exist (30 February) and times without a zone
 * (which would silently depend on the machine's time zone).
 */
export const parseInstant = (text: string): Option.Option<string> => {
  const full = datePattern.test(text) ? `${text}T00:00:00Z` : text
  return timestampPattern.test(full) && isRealDateTime(full) ? Option.some(toInstant(full)) : Option.none()
}

/** The UTC instant of a timestamp as `YYYY-MM-DDTHH:mm:ss.sssZ`: sortable as text. */
export const toInstant = (iso: string): string => new Date(iso).toISOString()

/**
 * The customer-code rule, in one place: lowercase letters, digits and `-`,
 * 2 to 32 characters, not starting with `-`. The schema, the S3 key layout
 * (`customers/{code}/`), the query planner, backfill's filters and the
 * arbitraries all read it from here.
 */
export const customerCodeRule = "[a-z0-9][a-z0-9-]{1,31}"

/** {@link customerCodeRule} as an anchored pattern. */
export const customerCodePattern: RegExp = new RegExp(`^${customerCodeRule}$`)

/** Whether `text` is a customer code ({@link customerCodeRule}). */
export const isCustomerCode = (text: string): boolean => customerCodePattern.test(text)

/** A customer code: {@link customerCodeRule}. */
export const CustomerCode = Schema.String.pipe(
  Schema.pattern(customerCodePattern, {
    message: (issue) => `Expected a customer code matching ${customerCodeRule}, got ${JSON.stringify(issue.actual)}`,
  }),
  Schema.brand("CustomerCode"),
).annotations({ identifier: "CustomerCode" })
export type CustomerCode = typeof CustomerCode.Type

/** One or more customer codes, no duplicates. */
export const Customers = Schema.NonEmptyArray(CustomerCode).pipe(
  Schema.filter((codes) => {
    const dup = duplicateCustomer(codes)
    return dup === undefined || `Duplicate customer code ${JSON.stringify(dup)}`
  }),
)

/** The first customer code that `codes` lists twice, if any: the rule {@link Customers} applies. */
export const duplicateCustomer = (codes: ReadonlyArray<string>): string | undefined =>
  codes.find((code, i) => codes.indexOf(code) !== i)

/** A document version: an integer >= 1 that grows with each update. */
export const Version = Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)).annotations({ identifier: "Version" })

/** The anchored pattern of the ids with `prefix`: the prefix, then 1-64 of `[A-Za-z0-9-]`. */
const idRegExp = (prefix: string): RegExp => new RegExp(`^${prefix}[A-Za-z0-9-]{1,64}$`)

/** A change id's pattern ({@link ChangeId}). */
export const changeIdPattern: RegExp = idRegExp("CHG-")

/** An announcement id's pattern ({@link AnnouncementId}). */
export const announcementIdPattern: RegExp = idRegExp("ANN-")

const idPattern = (prefix: string, pattern: RegExp) =>
  Schema.String.pipe(
    Schema.pattern(pattern, {
      message: (issue) =>
        `Expected an id ${prefix} followed by 1-64 of [A-Za-z0-9-], got ${JSON.stringify(issue.actual)}`,
    }),
  )

/** A change id: `CHG-` then `[A-Za-z0-9-]{1,64}`. */
export const ChangeId = idPattern("CHG-", changeIdPattern)
  .pipe(Schema.brand("ChangeId"))
  .annotations({ identifier: "ChangeId" })
export type ChangeId = typeof ChangeId.Type

/** An announcement id: `ANN-` then `[A-Za-z0-9-]{1,64}`. */
export const AnnouncementId = idPattern("ANN-", announcementIdPattern)
  .pipe(Schema.brand("AnnouncementId"))
  .annotations({ identifier: "AnnouncementId" })
export type AnnouncementId = typeof AnnouncementId.Type

/** The closed set of change statuses. */
export const ChangeStatus = Schema.Literal(
  "draft",
  "submitted",
  "approved",
  "scheduled",
  "in-progress",
  "completed",
  "cancelled",
)
export type ChangeStatus = typeof ChangeStatus.Type

/** The closed set of announcement statuses. */
export const AnnouncementStatus = Schema.Literal("draft", "scheduled", "published", "archived", "cancelled")
export type AnnouncementStatus = typeof AnnouncementStatus.Type

/** The announcement types. */
export const AnnouncementType = Schema.Literal("general", "maintenance", "incident", "security", "finops", "release")

const NonEmptyText = Schema.String.pipe(Schema.minLength(1))

/** An approval on a change. */
export const Approval = Schema.Struct({ by: NonEmptyText, at: IsoTimestamp }, Rest)

/** The kinds of entry in a change's modification history. */
export const ModificationType = Schema.Literal("created", "updated", "approved", "scheduled", "completed", "cancelled")

/** One entry of a change's modification history. */
export const Modification = Schema.Struct(
  {
    at: IsoTimestamp,
    by: NonEmptyText,
    type: ModificationType,
    note: Schema.optional(Schema.String),
  },
  Rest,
)

/** A change's window; `end` must not be before `start`. */
export const Schedule = Schema.Struct({ start: IsoTimestamp, end: IsoTimestamp }, Rest).pipe(
  Schema.filter((s) => inOrder(s.start, s.end) || `schedule.end (${s.end}) is before schedule.start (${s.start})`),
)

/** Whether a window from `start` to `end` (two {@link IsoTimestamp}s) is in order: {@link Schedule}'s rule. */
export const inOrder = (start: string, end: string): boolean => Date.parse(end) >= Date.parse(start)

/**
 * A change record.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Change } from "@docket/core/Document"
 * const change = Schema.decodeUnknownSync(Change)(JSON.parse(body))
 * ```
 */
export const Change = Schema.Struct(
  {
    kind: Schema.Literal("change"),
    id: ChangeId,
    version: Version,
    title: NonEmptyText,
    description: Schema.optional(Schema.String),
    reason: Schema.optional(Schema.String),
    customers: Customers,
    status: ChangeStatus,
    schedule: Schedule,
    implementationPlan: Schema.optional(Schema.String),
    rollbackPlan: Schema.optional(Schema.String),
    approvals: Schema.optional(Schema.Array(Approval)),
    modifications: Schema.optional(Schema.Array(Modification)),
    createdAt: IsoTimestamp,
    updatedAt: IsoTimestamp,
  },
  Rest,
).annotations({ identifier: "Change" })
export type Change = typeof Change.Type

/** A link in an announcement. */
export const Link = Schema.Struct({ title: Schema.String, url: NonEmptyText }, Rest)

/** A customer announcement. */
export const Announcement = Schema.Struct(
  {
    kind: Schema.Literal("announcement"),
    id: AnnouncementId,
    version: Version,
    type: AnnouncementType,
    title: NonEmptyText,
    summary: Schema.optional(Schema.String),
    content: Schema.optional(Schema.String),
    customers: Customers,
    status: AnnouncementStatus,
    publishAt: IsoTimestamp,
    links: Schema.optional(Schema.Array(Link)),
    createdAt: IsoTimestamp,
    updatedAt: IsoTimestamp,
  },
  Rest,
).annotations({ identifier: "Announcement" })
export type Announcement = typeof Announcement.Type

/**
 * What every document of every kind has: the discriminating `kind`, its `id` and
 * its `version`. Kind-specific fields (customers, status, indexing time) are read
 * through the kind's {@link DocumentKind} accessors.
 */
export interface AnyDocument {
  readonly kind: string
  readonly id: string
  readonly version: number
  readonly [field: string]: unknown
}

/**
 * The summary of a document that every index item carries and every query
 * returns: enough to list documents without reading their bodies.
 */
export interface Summary {
  readonly kind: string
  readonly id: string
  readonly version: number
  readonly title: string
  readonly status: string
  readonly customers: ReadonlyArray<string>
  /** The indexing time as a normalised UTC instant (`toISOString()`). */
  readonly time: string
}

/**
 * JSON text with object keys sorted at every level: two documents have the same
 * content exactly when their canonical JSON is equal (key order does not count).
 */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  )

/** Whether two documents have the same content (see {@link canonicalJson}). */
export const sameContent = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b)

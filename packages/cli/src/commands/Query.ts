/**
 * `docket query time|customer CODE|status STATUS`: one page of an index query.
 * The query is validated by core's one planner (range, kind, customer code,
 * status, limit); this module only fills in the default range and prints.
 *
 * @since 0.1.0
 */

import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as StoreQuery from "@docket/core/StoreQuery"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as GlobalOptions from "../GlobalOptions.js"
import * as Output from "../Output.js"
import * as Services from "../Services.js"

const day = 86_400_000

/** The options every query subcommand takes. */
const queryOptions = {
  from: Options.text("from").pipe(
    Options.optional,
    Options.withDescription("Start of the range, inclusive (ISO-8601); default now - ttl-days"),
  ),
  to: Options.text("to").pipe(
    Options.optional,
    Options.withDescription("End of the range, exclusive (ISO-8601); default now + 1 year"),
  ),
  kind: Options.text("kind").pipe(Options.optional, Options.withDescription("Only documents of this kind")),
  limit: Options.integer("limit").pipe(Options.withDefault(50), Options.withDescription("Page size (1-1000)")),
  cursor: Options.text("cursor").pipe(
    Options.optional,
    Options.withDescription("Resume after the page that printed this cursor"),
  ),
}

/** Parsed {@link queryOptions}. */
interface QueryOptions {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly kind: Option.Option<string>
  readonly limit: number
  readonly cursor: Option.Option<string>
}

/** Runs one page of `target` over the cache, or over S3 alone when the cache is off. */
const runQuery = (target: DocumentCache.QueryTarget, o: QueryOptions) =>
  Effect.gen(function* () {
    const { format } = yield* GlobalOptions.root
    const config = yield* DocketConfig.DocketConfig
    const cache = yield* DocumentCache.DocumentCache
    const now = yield* Clock.currentTimeMillis
    const query: DocumentCache.Query = {
      target,
      from: Option.getOrElse(o.from, () => new Date(now - config.ttlDays * day).toISOString()),
      to: Option.getOrElse(o.to, () => new Date(now + 365 * day).toISOString()),
      ...(Option.isSome(o.kind) ? { kind: o.kind.value } : {}),
    }
    const pageOptions = { limit: o.limit, ...(Option.isSome(o.cursor) ? { cursor: o.cursor.value } : {}) }
    // With the cache off the answer comes from S3 alone: the same items and cursors, slower, and its warning log line says so.
    const page = config.cacheEnabled
      ? yield* cache.page(query, pageOptions)
      : yield* StoreQuery.page(query, pageOptions)
    yield* Output.queryPage(format, {
      items: page.items,
      cursor: Option.getOrNull(page.cursor),
      complete: page.complete,
    })
  })

const queryTime = Command.make("time", queryOptions, (o) => runQuery({ _tag: "Time" }, o)).pipe(
  Command.withDescription(
    "Documents whose time (a change's schedule.start, an announcement's publishAt) is in [from, to).",
  ),
  Services.provide,
)

const queryCustomer = Command.make(
  "customer",
  { ...queryOptions, customer: Args.text({ name: "CODE" }).pipe(Args.withDescription("Customer code")) },
  (o) => runQuery({ _tag: "Customer", customer: o.customer }, o),
).pipe(Command.withDescription("One customer's documents in [from, to)."), Services.provide)

const queryStatus = Command.make(
  "status",
  { ...queryOptions, status: Args.text({ name: "STATUS" }).pipe(Args.withDescription("A status, e.g. approved")) },
  (o) => runQuery({ _tag: "Status", status: o.status }, o),
).pipe(Command.withDescription("Documents of one status in [from, to)."), Services.provide)

/** `docket query time|customer CODE|status STATUS` */
export const query = Command.make("query").pipe(
  Command.withDescription("Query the cache's indexes. --format json prints {items, cursor, complete}."),
  Command.withSubcommands([queryTime, queryCustomer, queryStatus]),
)

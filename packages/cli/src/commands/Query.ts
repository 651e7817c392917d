/**
 * `docket query time|customer CODE|status STATUS`: one page of an index query.
 * The query is validated by core's one planner (range, kind, customer code,
 * status, limit); this module only fills in the default range and prints.
 * Imported when a query command (declared in `Cli.ts`) runs.
 *
 * @since 0.1.0
 */

import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as StoreQuery from "@docket/core/StoreQuery"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as GlobalOptions from "../GlobalOptions.js"
import * as Output from "../Output.js"
import * as Services from "../Services.js"

const day = 86_400_000

/** The options of every query subcommand (declared in `Cli.ts`). */
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

/** `docket query time|customer CODE|status STATUS`: one page of `target`. */
export const query = (target: DocumentCache.QueryTarget, o: QueryOptions) =>
  runQuery(target, o).pipe(Services.provide(`query ${target._tag.toLowerCase()}`))

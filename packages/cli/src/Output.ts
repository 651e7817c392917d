/**
 * Output formatting: results on stdout as a table for people, or JSON / NDJSON
 * for programs. Progress, warnings and logs go to stderr.
 *
 * @since 0.1.0
 */
import type * as Document from "@docket/core/Document"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type { Format } from "./GlobalOptions.js"

/** Writes a line to stdout. */
export const line = (text: string) => Console.log(text)

/** Writes a line to stderr (warnings, notes). */
export const note = (text: string) => Console.error(text)

/** Renders rows as an aligned text table with a header. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const render = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  return [render(headers), render(widths.map((w) => "-".repeat(w))), ...rows.map(render)].join("\n")
}

/** A query summary as the JSON item of DESIGN section 10. */
export const summaryJson = (s: Document.Summary) => ({
  kind: s.kind,
  id: s.id,
  version: s.version,
  title: s.title,
  status: s.status,
  customers: s.customers,
  time: s.time,
})

/** Prints one page of query results in `format`. */
export const queryPage = (
  format: Format,
  page: { readonly items: ReadonlyArray<Document.Summary>; readonly cursor: string | null; readonly complete: boolean },
) =>
  Effect.gen(function* () {
    if (format === "json") {
      yield* line(JSON.stringify({ items: page.items.map(summaryJson), cursor: page.cursor, complete: page.complete }))
    } else if (format === "ndjson") {
      for (const item of page.items) yield* line(JSON.stringify(summaryJson(item)))
    } else {
      yield* line(
        page.items.length === 0
          ? "(no documents)"
          : table(
              ["TIME", "KIND", "ID", "V", "STATUS", "CUSTOMERS", "TITLE"],
              page.items.map((s) => [
                s.time.replace(".000Z", "Z"),
                s.kind,
                s.id,
                String(s.version),
                s.status,
                s.customers.join(","),
                s.title.length > 60 ? `${s.title.slice(0, 57)}...` : s.title,
              ]),
            ),
      )
      if (page.cursor !== null) yield* line(`\nnext page: --cursor ${page.cursor}`)
    }
    if (format === "ndjson" && page.cursor !== null) yield* note(`next page: --cursor ${page.cursor}`)
    if (!page.complete) {
      yield* note(
        "warning: the range starts before the cache's retention horizon (now - DOCKET_TTL_DAYS); older documents are not in the cache, so this result is incomplete",
      )
    }
  })

/** Formats milliseconds for people. */
export const ms = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`)

/**
 * Answers a query plan from S3 alone: list the document prefix, HEAD each
 * object for Docket's metadata (filtering without reading bodies), GET the
 * ones that may match, keep the newest version of each document, and order the
 * result the way every query is ordered (time, kind, id). Shared by
 * `StoreQuery` (cache off) and `Query` (the part before the retention horizon).
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Document from "../Document.js"
import { type DocumentDecodeError, DocumentKinds } from "../DocumentKind.js"
import { DocumentStore, type StoreError } from "../DocumentStore.js"
import * as QueryPlan from "./query.js"

/** The S3 requests one scan made: the cost an operator sees instead of the cache's. */
export interface ScanCounts {
  /** Objects listed. */
  readonly listed: number
  /** HEAD requests (one per listed object). */
  readonly heads: number
  /** GET requests (objects whose metadata matched, or had none). */
  readonly gets: number
}

/** The matches of a scan, ordered, with what it cost. */
export interface Scan {
  readonly items: ReadonlyArray<Document.Summary>
  readonly counts: ScanCounts
}

/**
 * Every document matching `plan` for which `keep` holds, read from S3.
 * Objects that are not documents (or fail to decode) fail the scan with the
 * decode error naming the object: nothing is skipped silently.
 */
export const scan = (
  plan: QueryPlan.Plan,
  keep: (summary: Document.Summary) => boolean,
  concurrency: number,
): Effect.Effect<Scan, StoreError | DocumentDecodeError, DocumentStore | DocumentKinds> =>
  Effect.gen(function* () {
    const store = yield* DocumentStore
    const registry = yield* DocumentKinds
    let listed = 0
    let heads = 0
    let gets = 0
    const found = yield* store.list().pipe(
      Stream.mapEffect(
        (object) =>
          Effect.gen(function* () {
            listed++
            heads++
            const info = yield* store.head(object.key)
            if (Option.isNone(info)) return Option.none<Document.Summary>()
            // Objects with Docket's metadata are filtered without reading them.
            if (Option.isSome(info.value.metadata)) {
              const candidate = { ...info.value.metadata.value, title: "" }
              if (!QueryPlan.matches(plan, candidate) || !keep(candidate)) return Option.none<Document.Summary>()
            }
            gets++
            const stored = yield* store.getKey(object.key)
            if (Option.isNone(stored)) return Option.none<Document.Summary>()
            const summary = registry.summarize(stored.value.document)
            return QueryPlan.matches(plan, summary) && keep(summary) ? Option.some(summary) : Option.none()
          }),
        { concurrency, unordered: true },
      ),
      Stream.filterMap((x) => x),
      Stream.runCollect,
    )
    // One document could sit at two keys (under customers/{code}/ too): keep the newest version.
    const byKey = new Map<string, Document.Summary>()
    for (const summary of Chunk.toArray(found)) {
      const key = `${summary.kind}/${summary.id}`
      const seen = byKey.get(key)
      if (seen === undefined || seen.version < summary.version) byKey.set(key, summary)
    }
    return {
      items: [...byKey.values()].map(QueryPlan.toSummary).sort(QueryPlan.compare),
      counts: { listed, heads, gets },
    }
  })

/**
 * What the backfill path and edge tests share (`Backfill.paths`, `Backfill.edges`):
 * a change document, the memory store and cache from the context, and a store that
 * counts its body reads and HEADs.
 */
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as Effect from "effect/Effect"

/** A change of `customers`, scheduled from `start`. */
export const change = (id: string, version: number, start = "2026-11-30T22:00:00Z", customers = ["acme"]) =>
  ({
    kind: "change",
    id: id as never,
    version,
    title: "t",
    customers,
    status: "approved",
    schedule: { start, end: "2027-01-01T02:00:00Z" },
    createdAt: "2026-11-01T10:00:00Z",
    updatedAt: "2026-11-02T10:00:00Z",
  }) as Document.AnyDocument

/** The memory store and the cache of the context. */
export const services = Effect.all({
  store: Effect.map(DocumentStore.DocumentStore, (s) => s as DocumentStore.MemoryStore),
  cache: DocumentCache.DocumentCache,
})

/** The store counting body reads and HEADs. */
export const counting = (store: DocumentStore.Service) => {
  const n = { reads: 0, heads: 0 }
  const service: DocumentStore.Service = {
    ...store,
    getKey: (key) =>
      Effect.zipRight(
        Effect.sync(() => (n.reads += 1)),
        store.getKey(key),
      ),
    head: (key) =>
      Effect.zipRight(
        Effect.sync(() => (n.heads += 1)),
        store.head(key),
      ),
  }
  return { service, n }
}

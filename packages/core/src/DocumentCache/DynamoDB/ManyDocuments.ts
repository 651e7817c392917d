/**
 * The many-document operations of the DynamoDB backend, bound to one backend:
 * `fingerprints` and `scan` (`Bulk`), `query` and `page` (`Queries`), and the
 * sweep's `intents` (`Intents`). `DynamoDB.make` imports it (through
 * `internal/streams.ts`) when it builds a backend, not at all with `documentsOnly`, so a process that only
 * reads and writes single documents (the Lambda's S3 event sync) loads none of
 * it, nor effect's `Stream` that its operations return.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type { Service } from "../../DocumentCache.js"
import * as Bulk from "./Bulk.js"
import { type Backend, cacheError, log, newStats } from "./Call.js"
import * as Intents from "./Intents.js"
import * as Queries from "./Queries.js"

/** The operations this module binds. */
export type Operations = Pick<Service, "query" | "page" | "scan" | "fingerprints" | "intents">

/** Binds the many-document operations to `backend`. */
export const make = (backend: Backend, bucketConcurrency: number): Operations => ({
  ...Bulk.make({
    client: backend.client,
    table: backend.table,
    statusShards: backend.statusShards,
    capacity: backend.capacity,
    send: (operation, key, send) => {
      const stats = newStats()
      return log(
        `cache.${operation}`,
        { table: backend.table, key, stats },
        backend.call(stats, send).pipe(Effect.mapError(cacheError(operation, key))),
        undefined,
        "debug",
      )
    },
  }),
  ...Queries.make(backend, bucketConcurrency),
  intents: ({ expiredBefore }) => Intents.intents(backend, expiredBefore),
})

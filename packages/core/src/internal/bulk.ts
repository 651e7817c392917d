/**
 * Shared pieces of the bulk operations of the DocumentCache port (`fingerprints`
 * and `scan`), used by the memory layer and the DynamoDB backend alike.
 */

import type * as CacheEntry from "../CacheEntry.js"
import type { Fingerprint, ScanOptions } from "./cacheTypes.js"
import { stableHash as hashOf } from "./hash.js"

/** DynamoDB's BatchGetItem limit: 100 keys a request. */
export const BatchGetLimit = 100

/** The body-less view of an entry. */
export const fingerprintOf = (entry: CacheEntry.Entry): Fingerprint =>
  entry._tag === "Cached"
    ? {
        _tag: "Cached",
        kind: entry.summary.kind,
        id: entry.summary.id,
        version: entry.summary.version,
        etag: entry.etag,
        s3Key: entry.s3Key,
        expiresAt: entry.expiresAt,
        time: entry.summary.time,
        customers: entry.summary.customers,
      }
    : {
        _tag: "Tombstone",
        kind: entry.kind,
        id: entry.id,
        version: undefined,
        etag: entry.etag,
        s3Key: undefined,
        expiresAt: entry.expiresAt,
        time: undefined,
        customers: undefined,
      }

/** The segment count of a scan, validated like DynamoDB's `TotalSegments`. */
export const segmentCount = (options: ScanOptions | undefined): number => {
  const n = options?.segments ?? 1
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1_000_000) : 1
}

/** The stable hash of segments and shards (re-exported from `hash.ts`). */
export { stableHash } from "./hash.js"

/** Which of `segments` segments a partition key falls in (the memory layer's stand-in for DynamoDB's hashing). */
export const segmentOf = (pk: string, segments: number): number => hashOf(pk) % segments

/** Splits `items` into groups of at most `size`. */
export const chunksOf = <A>(items: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

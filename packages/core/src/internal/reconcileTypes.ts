/**
 * The vocabulary of Reconcile (its drift, report, options and progress), apart
 * from the run itself; `Reconcile` re-exports every name.
 *
 * @internal
 */
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as DocumentStore from "../DocumentStore.js"

/** The kinds of drift. */
export type DriftType = "missing" | "stale" | "orphaned" | "expired" | "unreadable"

/** All drift types, in report order. */
export const driftTypes: ReadonlyArray<DriftType> = ["missing", "stale", "orphaned", "expired", "unreadable"]

/** One difference between the cache and S3. */
export interface Drift {
  readonly type: DriftType
  readonly kind: string
  readonly id: string
  /** The S3 key (for orphans: the key the cache points at). */
  readonly key: string
  readonly detail: string
  /** With `fix`: what the repair did. */
  readonly repair?: { readonly outcome: "fixed" } | { readonly outcome: "failed"; readonly error: string }
}

/** What reconcile found (and fixed), and what it compared. */
export interface Report {
  /** Where the S3 side came from. */
  readonly source: "listing" | "inventory"
  /** Objects listed under the prefix, documents or not. */
  readonly objects: number
  /** Distinct documents S3 holds (document keys of the listing). */
  readonly documents: number
  /** Cache entries the Scan returned (documents and tombstones, expired included). */
  readonly cacheEntries: number
  /** Always `scan`: every entry is seen (kept for readers of older reports). */
  readonly orphanCheck: "scan"
  /** Parallel Scan segments. */
  readonly segments: number
  /** Documents on both sides whose ETags were compared. */
  readonly compared: number
  /** Object bodies read (only where the ETags differ or the cache has no entry). */
  readonly bodiesRead: number
  readonly counts: Readonly<Record<DriftType, number>>
  /** The drift found, sorted by type then key; at most `maxDriftReported` (the counts are exact). */
  readonly drift: ReadonlyArray<Drift>
  /** True when more drift was found than `drift` lists. */
  readonly driftTruncated: boolean
  readonly fix: boolean
  readonly fixed: number
  readonly fixFailed: number
  readonly durationMs: number
}

/** An S3 listing, or the entries of an S3 Inventory, as the S3 side of a run. */
export type Source<E> = Stream.Stream<DocumentStore.ObjectInfo, E>

/**
 * The Scan's default segment count, 16, chosen by measurement (docs/backfill-at-scale.md,
 * "Scan segments"): every segment holds a page of up to 1 MB of items in flight, but under
 * the CLI's heap caps (bin/heap.mjs) a clean reconcile over 100,000 objects peaked at
 * 242 MB RSS with 16 segments (138 s, 270 Scan) against 227 MB with 32 (152 s, 337 Scan),
 * under the 300 MB bound, and DynamoDB Local's cost of a Scan falls with the segment's
 * size. 16 keeps the request count of 4 at that size (pages are bounded by 1 MB read, so
 * a run costs about its data's MB plus one page per segment). `--segments` changes it.
 */
export const defaultSegments = 16

/** Options of {@link run}. */
export interface Options<E = never> {
  /** Repair what can be repaired from S3. Ignored (nothing changes) in a dry run. */
  readonly fix?: boolean
  /** Documents compared (and repaired) at once (default 8). */
  readonly concurrency?: number
  /** Parallel Scan segments (default {@link defaultSegments}). */
  readonly segments?: number
  /** Defaults to `DOCKET_DRY_RUN`. */
  readonly dryRun?: boolean
  /** The S3 side; default the bucket listing under the prefix. */
  readonly source?: { readonly kind: "listing" | "inventory"; readonly objects: Source<E> }
  /** Items per sorted run before it is spilled to disk (default 50,000). */
  readonly runSize?: number
  /** How many drift entries the report lists (default 1,000). */
  readonly maxDriftReported?: number
  /** Called as the run goes: at most every `progressEveryMs` (default 1000) and at the end of each phase. */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
  readonly progressEveryMs?: number
}

/**
 * Where a run is. The unit is an entry: an S3 document key or a cache entry, each
 * counted once when read (phase `reading`, the listing and the Scan at once) and
 * once when joined (phase `comparing`); the total is known once both are read.
 */
export interface Progress {
  readonly phase: "reading" | "comparing"
  /** Entries read plus entries joined so far. */
  readonly done: number
  /** Twice the entries read, once the listing and the Scan are exhausted. */
  readonly total: number | undefined
  /** Objects listed (documents or not) and cache entries scanned so far. */
  readonly objects: number
  readonly cacheEntries: number
  /** Drift found and bodies read so far. */
  readonly drift: number
  readonly bodiesRead: number
  readonly elapsedMs: number
}

/** Reconcile could not run: the listing, the Scan or the temporary sort files failed. */
export class ReconcileError extends Data.TaggedError("ReconcileError")<{
  readonly reason: "ListingFailed" | "ScanFailed" | "SortFailed"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return this.detail
  }
}

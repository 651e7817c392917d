/**
 * The `DocumentCache` port's types: its requests, outcomes and the `Service`
 * interface. Declared apart from `DocumentCache.ts`, which re-exports every one
 * (import them from there), so that the port's memory layer and the rules in
 * `internal/` that every backend shares can name them without importing the
 * port module back (no import cycle, type-only ones included).
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type * as CacheEntry from "../CacheEntry.js"
import type {
  CacheError,
  ConditionFailedError,
  CursorError,
  InvalidQueryError,
  StaleWriteError,
} from "../CacheError.js"
import type * as Document from "../Document.js"

/**
 * What a conditional write requires of the document item currently stored.
 * - `VersionIs`: a live or expired cached document of exactly this version.
 * - `Absent`: no document item at all (tombstones count as present).
 * - `SequencerBefore`: no item, or an item without a sequencer, or one whose
 *   normalised sequencer sorts before this one (event sync).
 */
export type Condition =
  | { readonly _tag: "VersionIs"; readonly version: number }
  | { readonly _tag: "Absent" }
  | { readonly _tag: "SequencerBefore"; readonly sequencer: string }

/** Options of {@link Service.put}. */
export interface PutOptions extends CacheEntry.Provenance {
  /** The S3 key of the document's object. */
  readonly s3Key: string
  /**
   * Replaces the default version rule with an explicit condition (rollback,
   * event sync). The version rule still reports same-content writes as unchanged.
   */
  readonly condition?: Condition
  /**
   * A hint, not a condition: the caller has just seen no item for this document
   * (backfill's BatchGetItem comparison), so the write skips its read and tries a
   * create first. If an item exists after all, the create is refused atomically and
   * the write is decided on the item it returns, exactly as after a read.
   */
  readonly likelyAbsent?: boolean
  /**
   * What the caller read of this document just before ({@link Service.snapshot}):
   * the write decides its first attempt on it instead of reading the item again.
   * A snapshot is only a guess, checked atomically: when the item changed since
   * (or the snapshot is of another document), the write is decided on what is
   * there now, exactly as without it.
   */
  readonly seen?: Snapshot
  /**
   * The put is a step of an operation that logs its own line (a fallback read's refill, under
   * `fallbackReader.refill`; an event's put, under `event-sync`; a backfill's, under the run's
   * report): its success line is `debug`, like the write protocol's steps. Failures log as
   * always. Changes nothing else.
   */
  readonly step?: boolean
}

/** What a put did. */
export type PutOutcome =
  | { readonly _tag: "Written"; readonly previous: Option.Option<CacheEntry.Entry> }
  | { readonly _tag: "Unchanged"; readonly current: CacheEntry.Entry }

/** What a delete did. */
export type DeleteOutcome =
  | { readonly _tag: "Deleted"; readonly previous: CacheEntry.Entry }
  | { readonly _tag: "Absent" }

/**
 * A writer's recorded intent on a document: what it is about to write to S3,
 * and until when it holds the document (`leaseExpiresAt`, epoch milliseconds).
 * An intent whose lease has expired belongs to a writer that died or gave up:
 * whoever meets it resolves it (see `Heal`).
 */
export interface Intent {
  /** Unique per write: the guard of the writer's commit and clear. */
  readonly writer: string
  readonly operation: "put" | "delete"
  /** The version being written (puts). */
  readonly version?: number
  /** The S3 ETag of the body being written (puts): resolution compares S3's against it. */
  readonly etag?: string
  /** The object's S3 key. */
  readonly s3Key: string
  /** Epoch milliseconds. */
  readonly leaseExpiresAt: number
}

/** What an intent is about: a put of `document` (whose body has ETag `etag`), or a delete. */
export type IntentChange =
  | { readonly _tag: "Put"; readonly document: Document.AnyDocument; readonly etag: string }
  | { readonly _tag: "Delete" }

/** A request to record an intent ({@link Service.intend}). */
export interface IntentRequest {
  readonly kind: string
  readonly id: string
  readonly writer: string
  readonly s3Key: string
  readonly leaseExpiresAt: number
  readonly change: IntentChange
}

/**
 * What {@link Service.intend} did:
 * - `Recorded`: the intent is ours; `previous` is the committed entry it sits next to.
 * - `Unchanged`: the committed document is already this version with this content (nothing recorded).
 * - `Blocked`: another writer's intent is there (live or expired); nothing recorded.
 */
export type IntentOutcome =
  | { readonly _tag: "Recorded"; readonly previous: Option.Option<CacheEntry.Entry> }
  | { readonly _tag: "Unchanged"; readonly current: CacheEntry.Entry }
  | { readonly _tag: "Blocked"; readonly intent: Intent; readonly previous: Option.Option<CacheEntry.Entry> }

/** The committed state a commit writes: the document S3 now holds, or a tombstone. */
export type CommitChange =
  | {
      readonly _tag: "Put"
      readonly document: Document.AnyDocument
      readonly s3Key: string
      readonly etag: string
    }
  | { readonly _tag: "Delete"; readonly ttlSeconds: number; readonly etag?: string }

/** A request to commit an intent ({@link Service.commit}). */
export interface CommitRequest {
  readonly kind: string
  readonly id: string
  /** The intent's writer: the commit happens only while its intent is there. */
  readonly writer: string
  /** The committed entry the intent sat next to (its customer items are replaced). */
  readonly previous: Option.Option<CacheEntry.Entry>
  readonly change: CommitChange
}

/**
 * What a commit did: `Committed`, or `AlreadyCommitted` when the intent was gone
 * but the committed state is exactly this change (a resolver committed it first).
 */
export type CommitOutcome = { readonly _tag: "Committed" } | { readonly _tag: "AlreadyCommitted" }

/** A document item as it is: the committed entry (expired ones included) and any intent. */
export interface Inspection {
  readonly entry: Option.Option<CacheEntry.Entry>
  readonly intent: Option.Option<Intent>
}

/**
 * A consistent read of a document item as a write of it reads it first: the
 * committed entry (expired ones and tombstones included), the intent, and the
 * item itself as the backend read it (`seen`, for the backend only). Passed to
 * {@link Service.put} or {@link Service.tombstone} as `seen`, it replaces their
 * own first read, so a caller can take it concurrently with other work (event
 * sync reads S3 meanwhile) and still pay one read per write.
 */
export interface Snapshot extends Inspection {
  readonly kind: string
  readonly id: string
  /** The backend's own record of what it read (its write's guard); opaque to callers. */
  readonly seen: unknown
}

/** An intent found by {@link Service.intents}. */
export interface PendingIntent {
  readonly kind: string
  readonly id: string
  readonly intent: Intent
}

/** Which index a query uses. */
export type QueryTarget =
  | { readonly _tag: "Time" }
  | { readonly _tag: "Customer"; readonly customer: string }
  | { readonly _tag: "Status"; readonly status: string }

/** A query: `[from, to)` over the indexing time (ISO-8601). */
export interface Query {
  readonly target: QueryTarget
  readonly from: string
  readonly to: string
  /** Only documents of this kind. For a status query without it, every kind that has the status. */
  readonly kind?: string
}

/** One page of a query. */
export interface Page {
  readonly items: ReadonlyArray<Document.Summary>
  /** Resumes right after the last item; `None` when the query is exhausted. URL-safe. */
  readonly cursor: Option.Option<string>
  /** False when `from` is before the retention horizon: older documents are not in the cache. */
  readonly complete: boolean
}

/** A document's key in the cache. */
export interface DocumentRef {
  readonly kind: string
  readonly id: string
}

/**
 * What the cache holds for a document, without its body: enough to compare it
 * with an S3 listing (ETag) or to find it orphaned (its S3 key).
 */
export interface Fingerprint extends DocumentRef {
  readonly _tag: "Cached" | "Tombstone"
  /** The cached version; `undefined` for a tombstone. */
  readonly version: number | undefined
  /** The S3 ETag the entry was read from or written to, as stored (quotes included). */
  readonly etag: string | undefined
  /** The S3 key the entry points at; `undefined` for a tombstone. */
  readonly s3Key: string | undefined
  /** Epoch seconds. */
  readonly expiresAt: number
  /** The indexing time and customers of a cached document (filters decide on them without the body). */
  readonly time: string | undefined
  readonly customers: ReadonlyArray<string> | undefined
  /**
   * True when the item's status index key is not the table's current layout (written
   * before status sharding, or under another shard count): backfill rewrites it.
   */
  readonly reindex?: boolean
}

/** Options of {@link Service.scan}. */
export interface ScanOptions {
  /** Parallel Scan segments (DynamoDB `TotalSegments`, 1 to 1,000,000; default 1). */
  readonly segments?: number
}

/** The DocumentCache service. */
export interface Service {
  /**
   * The entry stored for a document: a cached document (possibly a pointer, with
   * `document` undefined) or a tombstone. Expired entries are `None` unless
   * `includeExpired`.
   */
  readonly get: (
    kind: string,
    id: string,
    options?: { readonly includeExpired?: boolean },
  ) => Effect.Effect<Option.Option<CacheEntry.Entry>, CacheError>
  /** Writes all items of a document in one transaction (or several, in order, past the transaction limit). */
  readonly put: (
    document: Document.AnyDocument,
    options: PutOptions,
  ) => Effect.Effect<PutOutcome, CacheError | StaleWriteError | ConditionFailedError>
  /** Removes every item of a document. Idempotent. */
  readonly delete: (
    kind: string,
    id: string,
    options?: { readonly condition?: Condition },
  ) => Effect.Effect<DeleteOutcome, CacheError | ConditionFailedError>
  /** Replaces a document's items with a short-lived tombstone (event sync after an S3 delete). */
  readonly tombstone: (
    kind: string,
    id: string,
    options: CacheEntry.Provenance & {
      readonly ttlSeconds: number
      readonly condition?: Condition
      /** As {@link PutOptions.seen}: the item read just before, a guess checked atomically. */
      readonly seen?: Snapshot
    },
  ) => Effect.Effect<DeleteOutcome, CacheError | ConditionFailedError>
  /**
   * Puts back exactly `previous` (or nothing) if `condition` holds: the rollback
   * of a write that S3 refused. A newer concurrent write makes it fail with
   * {@link ConditionFailedError} rather than be clobbered.
   */
  readonly restore: (
    kind: string,
    id: string,
    previous: Option.Option<CacheEntry.Entry>,
    condition: Condition,
  ) => Effect.Effect<void, CacheError | ConditionFailedError>
  /** The committed entry (expired included) and the intent of a document, in one consistent read. */
  readonly inspect: (kind: string, id: string) => Effect.Effect<Inspection, CacheError>
  /**
   * The same consistent read as {@link Service.inspect}, kept for a write that
   * follows: pass it as `seen` to {@link Service.put} or {@link Service.tombstone}
   * and that write does not read the item again (one read per write, taken when
   * the caller chooses). Event sync takes it concurrently with the S3 read.
   */
  readonly snapshot: (kind: string, id: string) => Effect.Effect<Snapshot, CacheError>
  /**
   * Records an intent (one conditional write that also returns the prior state).
   * A put intent obeys the version rule (an older version, or the same version
   * with other content, is a {@link StaleWriteError}; the same content is
   * `Unchanged`); any intent already there makes it `Blocked`.
   */
  readonly intend: (request: IntentRequest) => Effect.Effect<IntentOutcome, CacheError | StaleWriteError>
  /**
   * Commits an intent in one transaction (a chain past 99 customer actions, the
   * intent kept until the last): the document item (or a tombstone) without the
   * intent, the customer items put, those of customers that left deleted.
   * Fails with {@link ConditionFailedError} when the intent is no longer
   * `writer`'s and the committed state is not this change.
   */
  readonly commit: (request: CommitRequest) => Effect.Effect<CommitOutcome, CacheError | ConditionFailedError>
  /** Drops `writer`'s intent, if it is still there; the committed state is untouched. */
  readonly clearIntent: (kind: string, id: string, writer: string) => Effect.Effect<void, CacheError>
  /**
   * Every intent whose lease expired before `expiredBefore` (epoch ms), from the
   * sparse intents index (never a table scan), oldest lease first per shard.
   */
  readonly intents: (options: { readonly expiredBefore: number }) => Stream.Stream<PendingIntent, CacheError>
  /** Every document matching a query, in time-then-id order. */
  readonly query: (query: Query) => Stream.Stream<Document.Summary, CacheError | InvalidQueryError>
  /**
   * What the cache holds for each of `refs` (live, expired or tombstone), without
   * bodies: the comparison step of backfill. Any number of refs; the DynamoDB
   * backend reads them with BatchGetItem, 100 keys a request, and retries the
   * keys DynamoDB returns unprocessed. Refs without an entry are absent from the
   * result; a ref given twice is answered once.
   */
  readonly fingerprints: (refs: ReadonlyArray<DocumentRef>) => Effect.Effect<ReadonlyArray<Fingerprint>, CacheError>
  /**
   * Every document entry in the cache (live, expired and tombstones), whatever
   * its time, in no particular order: a parallel Scan of `segments` segments
   * (default 1) merged as they answer. Reconcile joins it with the S3 listing.
   */
  readonly scan: (options?: ScanOptions) => Stream.Stream<Fingerprint, CacheError>
  /** One page of a query, resuming at `cursor`. */
  readonly page: (
    query: Query,
    options: { readonly limit: number; readonly cursor?: string },
  ) => Effect.Effect<Page, CacheError | InvalidQueryError | CursorError>
}

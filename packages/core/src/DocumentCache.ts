/**
 * The `DocumentCache` port: Docket's DynamoDB cache and its three indexes.
 * The DynamoDB backend is in `DocumentCache/DynamoDB.ts`; a memory layer that
 * behaves the same (one contract suite runs against both) is in this module.
 *
 * Versions: a document may only replace a cached one with a higher `version`.
 * The same version with the same content is a no-op; anything older (or the
 * same version with other content) is a {@link StaleWriteError}.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "./CacheEntry.js"
import {
  CacheError,
  type ConditionFailedError,
  type CursorError,
  type InvalidQueryError,
  type StaleWriteError,
} from "./CacheError.js"
import type * as Document from "./Document.js"
import { DocumentKinds } from "./DocumentKind.js"
import * as Bulk from "./internal/bulk.js"
import * as QueryPlan from "./internal/query.js"
import * as Write from "./internal/write.js"
import * as OperationLog from "./OperationLog.js"
import { normalizeSequencer } from "./Sequencer.js"

export {
  CacheError,
  ConditionFailedError,
  CursorError,
  InvalidQueryError,
  StaleWriteError,
} from "./CacheError.js"

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
}

/** What a put did. */
export type PutOutcome =
  | { readonly _tag: "Written"; readonly previous: Option.Option<CacheEntry.Entry> }
  | { readonly _tag: "Unchanged"; readonly current: CacheEntry.Entry }

/** What a delete did. */
export type DeleteOutcome =
  | { readonly _tag: "Deleted"; readonly previous: CacheEntry.Entry }
  | { readonly _tag: "Absent" }

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
    options: CacheEntry.Provenance & { readonly ttlSeconds: number; readonly condition?: Condition },
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

/** The DocumentCache service tag. */
export class DocumentCache extends Context.Tag("@docket/core/DocumentCache")<DocumentCache, Service>() {}

/** Options of the memory layer. */
export interface MemoryOptions {
  /** Retention window in days, as `DOCKET_TTL_DAYS` (default 365). */
  readonly retentionDays?: number
  /** Log mutations and change nothing. */
  readonly dryRun?: boolean
}

/**
 * A DocumentCache in memory with the same behaviour as the DynamoDB backend
 * (the contract suite runs against both): for tests and for workflows that run
 * without AWS. Time comes from effect's `Clock`, so `TestClock` drives expiry.
 */
export const makeMemory = (options: MemoryOptions = {}): Effect.Effect<Service, never, DocumentKinds> =>
  Effect.gen(function* () {
    const registry = yield* DocumentKinds
    const retentionDays = options.retentionDays ?? 365
    const dryRun = options.dryRun === true
    const items = new Map<string, Write.Stored>()
    const pk = (kind: string, id: string) => Write.keyOf(kind, id)
    const stored = (kind: string, id: string) => Option.fromNullable(items.get(pk(kind, id)))
    const storedEntry = (kind: string, id: string) => Option.map(stored(kind, id), (s) => s.entry)
    const mutate = (f: () => void) => Effect.sync(() => (dryRun ? undefined : f()))
    const log = <A, E>(
      operation: string,
      key: string,
      self: Effect.Effect<A, E>,
      describe?: (a: A) => OperationLog.Fields,
    ) =>
      OperationLog.logged<A>(
        operation,
        { backend: "memory", key, ...(dryRun ? { dryRun } : {}) },
        describe === undefined ? { level: "debug" } : { level: "debug", describe },
      )(self)

    const get: Service["get"] = (kind, id, getOptions) =>
      log(
        "cache.get",
        Write.keyOf(kind, id),
        Effect.map(Clock.currentTimeMillis, (now) =>
          Option.filter(
            storedEntry(kind, id),
            (entry) => getOptions?.includeExpired === true || !CacheEntry.isExpired(entry.expiresAt, now),
          ),
        ),
        (entry) => ({ outcome: Option.isSome(entry) ? entry.value._tag : "Absent" }),
      )

    const put: Service["put"] = (document, putOptions) => {
      const key = Write.keyOf(document.kind, document.id)
      return log(
        "cache.put",
        key,
        Effect.gen(function* () {
          if (registry.get(document.kind) === undefined) {
            return yield* new CacheError({ reason: "Invalid", operation: "put", key, cause: "unregistered kind" })
          }
          const hash = Write.contentHash(document)
          const previous = stored(document.kind, document.id)
          const decision = Write.decidePut(document, hash, putOptions, previous)
          if (decision._tag === "Fail") return yield* decision.error
          if (decision._tag === "Unchanged") return { _tag: "Unchanged", current: decision.current } as PutOutcome
          const summary = registry.summarize(document)
          const entry: CacheEntry.CachedDocument = {
            _tag: "Cached",
            summary,
            document,
            s3Key: putOptions.s3Key,
            expiresAt: CacheEntry.expiresAt(summary.time, retentionDays),
            ...(putOptions.etag !== undefined ? { etag: putOptions.etag } : {}),
            ...(putOptions.sequencer !== undefined ? { sequencer: normalizeSequencer(putOptions.sequencer) } : {}),
          }
          yield* mutate(() => items.set(pk(document.kind, document.id), { entry, contentHash: hash }))
          return { _tag: "Written", previous: Option.map(previous, (p) => p.entry) } as PutOutcome
        }),
        (outcome) => ({ outcome: outcome._tag }),
      )
    }

    const remove = (
      operation: string,
      kind: string,
      id: string,
      condition: Condition | undefined,
      replacement: (now: number) => Write.Stored | undefined,
    ): Effect.Effect<DeleteOutcome, ConditionFailedError> =>
      log(
        `cache.${operation}`,
        Write.keyOf(kind, id),
        Effect.gen(function* () {
          const previous = storedEntry(kind, id)
          const failed = Write.checkCondition(Write.keyOf(kind, id), operation, previous, condition)
          if (failed !== undefined) return yield* failed
          const now = yield* Clock.currentTimeMillis
          const next = replacement(now)
          yield* mutate(() => (next === undefined ? items.delete(pk(kind, id)) : items.set(pk(kind, id), next)))
          return Option.match(previous, {
            onNone: (): DeleteOutcome => ({ _tag: "Absent" }),
            onSome: (entry): DeleteOutcome => ({ _tag: "Deleted", previous: entry }),
          })
        }),
        (outcome) => ({ outcome: outcome._tag }),
      )

    const restore: Service["restore"] = (kind, id, previous, condition) =>
      log(
        "cache.restore",
        Write.keyOf(kind, id),
        Effect.gen(function* () {
          const failed = Write.checkCondition(Write.keyOf(kind, id), "restore", storedEntry(kind, id), condition)
          if (failed !== undefined) return yield* failed
          yield* mutate(() =>
            Option.match(previous, {
              onNone: () => items.delete(pk(kind, id)),
              onSome: (entry) =>
                items.set(pk(kind, id), {
                  entry,
                  contentHash:
                    entry._tag === "Cached" && entry.document !== undefined
                      ? Write.contentHash(entry.document)
                      : undefined,
                }),
            }),
          )
        }),
      )

    const scan = (plan: QueryPlan.Plan, now: number): Stream.Stream<Document.Summary> =>
      Stream.suspend(() =>
        Stream.fromIterable(
          [...items.values()]
            .flatMap(({ entry }) =>
              entry._tag === "Cached" &&
              !CacheEntry.isExpired(entry.expiresAt, now) &&
              QueryPlan.matches(plan, entry.summary)
                ? [entry.summary]
                : [],
            )
            .sort(QueryPlan.compare),
        ),
      )

    return Write.validated({
      get,
      fingerprints: (refs) =>
        Effect.sync(() =>
          [...new Map(refs.map((ref) => [pk(ref.kind, ref.id), ref])).values()].flatMap((ref) =>
            Option.toArray(Option.map(storedEntry(ref.kind, ref.id), Bulk.fingerprintOf)),
          ),
        ),
      scan: (scanOptions) =>
        Stream.suspend(() => {
          const segments = Bulk.segmentCount(scanOptions)
          const entries = [...items.entries()]
          return Stream.mergeAll(
            Array.from({ length: segments }, (_, segment) =>
              Stream.fromIterable(entries).pipe(
                Stream.filter(([pk]) => Bulk.segmentOf(pk, segments) === segment),
                Stream.map(([, s]) => Bulk.fingerprintOf(s.entry)),
              ),
            ),
            { concurrency: "unbounded" },
          )
        }),
      put,
      delete: (kind, id, deleteOptions) => remove("delete", kind, id, deleteOptions?.condition, () => undefined),
      tombstone: (kind, id, tombstoneOptions) =>
        remove("tombstone", kind, id, tombstoneOptions.condition, (now) => ({
          entry: {
            _tag: "Tombstone",
            kind,
            id,
            expiresAt: Math.floor(now / 1000) + Math.max(1, Math.round(tombstoneOptions.ttlSeconds)),
            ...(tombstoneOptions.etag !== undefined ? { etag: tombstoneOptions.etag } : {}),
            ...(tombstoneOptions.sequencer !== undefined
              ? { sequencer: normalizeSequencer(tombstoneOptions.sequencer) }
              : {}),
          },
          contentHash: undefined,
        })),
      restore,
      query: (query) =>
        Stream.unwrap(
          Effect.gen(function* () {
            const plan = yield* QueryPlan.plan(query, registry)
            return scan(plan, yield* Clock.currentTimeMillis)
          }),
        ),
      page: (query, pageOptions) =>
        Effect.gen(function* () {
          const plan = yield* QueryPlan.plan(query, registry)
          const now = yield* Clock.currentTimeMillis
          return yield* QueryPlan.page(
            plan,
            pageOptions,
            QueryPlan.collectStream((after) => QueryPlan.strictlyAfter(after)(scan(plan, now))),
            QueryPlan.isComplete(plan.from, retentionDays, now),
          )
        }),
    })
  })

/** Provides {@link makeMemory}. Needs the registered kinds (`DocumentKind.layerDefault`). */
export const layerMemory = (options: MemoryOptions = {}): Layer.Layer<DocumentCache, never, DocumentKinds> =>
  Layer.effect(DocumentCache, makeMemory(options))

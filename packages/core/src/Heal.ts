/**
 * Resolution of abandoned write intents (DESIGN section 6, invariant 6). A
 * writer that dies between its intent and its commit leaves the intent behind;
 * once its lease has expired, whoever meets it resolves it: the next writer of
 * the key, a fallback read, event sync, or the sweep in this module.
 *
 * Resolving = HEAD the object. A put intent whose ETag S3 holds is committed
 * (rolled forward: the body is read, the document committed as S3 has it);
 * otherwise the intent is dropped: cleared, the committed state kept when S3
 * still holds it, else replaced by what S3 holds (a put that landed after its
 * writer gave up, a foreign write whose event met the intent). A
 * delete intent is rolled forward (a tombstone) when S3 has no object.
 * Because a writer gives up on its S3 call before its lease ends, nothing of
 * that writer can land after the resolution decided (docs/write-through.md).
 * Every resolution is one log line and counted in `IntentsResolved{outcome}`.
 *
 * {@link sweep} reads the sparse intents index (never a table scan); it is what
 * `docket heal` and the scheduled Lambda run.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "./CacheMetrics.js"
import type * as Document from "./Document.js"
import * as DocumentCache from "./DocumentCache.js"
import type * as DocumentKind from "./DocumentKind.js"
import * as DocumentStore from "./DocumentStore.js"
import * as OperationLog from "./OperationLog.js"

/** How long the tombstone of a rolled-forward delete lives (as event sync's default): one hour. */
export const tombstoneTtlSeconds = 3600

/** What resolving an intent did. */
export type Resolution =
  /** S3 holds what the intent meant: committed. */
  | "rolled-forward"
  /** S3 does not: the intent was cleared, the committed state kept. */
  | "dropped"
  /** The intent is no longer there (committed, cleared or replaced meanwhile), or not expired: nothing done. */
  | "gone"

/** Who met the intent. */
export type Resolver = "writer" | "reader" | "event-sync" | "sweep"

/** Errors of a resolution. */
export type ResolveError =
  | DocumentCache.CacheError
  | DocumentStore.StoreError
  | DocumentKind.DocumentDecodeError
  | DocumentCache.ConditionFailedError

const count = CacheMetrics.incrementTagged(CacheMetrics.intentsResolved, "outcome")

/** What the cache holds for the key: its committed entry and its intent. */
type Inspected = Effect.Effect.Success<ReturnType<DocumentCache.Service["inspect"]>>

/** Commits the delete an intent (ours or S3's state) stands for: a tombstone. */
const commitDelete = (cache: DocumentCache.Service, pending: DocumentCache.PendingIntent, current: Inspected) =>
  cache.commit({
    kind: pending.kind,
    id: pending.id,
    writer: pending.intent.writer,
    previous: current.entry,
    change: { _tag: "Delete", ttlSeconds: tombstoneTtlSeconds },
  })

/**
 * Drops the intent. Dropping keeps the committed state, unless S3 holds something else than it (a put
 * that landed after its writer gave up, a foreign write whose event met this intent and left the key to
 * it): then the intent is dropped by committing S3's state, so the cache converges to S3 (found by the
 * invariant 6 property).
 */
const dropIntent = (
  cache: DocumentCache.Service,
  store: DocumentStore.Service,
  pending: DocumentCache.PendingIntent,
  current: Inspected,
  head: Option.Option<DocumentStore.ObjectInfo>,
): Effect.Effect<Resolution, ResolveError> =>
  Effect.gen(function* () {
    const { kind, id, intent } = pending
    const clear = Effect.as(cache.clearIntent(kind, id, intent.writer), "dropped" as Resolution)
    const entry = Option.getOrUndefined(current.entry)
    if (Option.isNone(head)) {
      if (entry === undefined || entry._tag === "Tombstone") return yield* clear
      yield* commitDelete(cache, pending, current)
      return "dropped" as Resolution
    }
    if (entry?._tag === "Cached" && entry.etag !== undefined && DocumentStore.sameEtag(entry.etag, head.value.etag)) {
      return yield* clear
    }
    const stored = yield* store.getKey(intent.s3Key)
    if (Option.isNone(stored)) return yield* clear
    yield* cache.commit({
      kind,
      id,
      writer: intent.writer,
      previous: current.entry,
      change: { _tag: "Put", document: stored.value.document, s3Key: intent.s3Key, etag: stored.value.etag },
    })
    return "dropped" as Resolution
  })

/** Decides and applies a resolution: `gone` unless the intent is still there and expired, else from S3's HEAD. */
const settleIntent = (
  cache: DocumentCache.Service,
  store: DocumentStore.Service,
  pending: DocumentCache.PendingIntent,
): Effect.Effect<Resolution, ResolveError> =>
  Effect.gen(function* () {
    const { kind, id, intent } = pending
    const now = yield* Clock.currentTimeMillis
    const current = yield* cache.inspect(kind, id)
    if (
      Option.isNone(current.intent) ||
      current.intent.value.writer !== intent.writer ||
      current.intent.value.leaseExpiresAt > now
    ) {
      return "gone" as Resolution
    }
    const head = yield* store.head(intent.s3Key)
    if (intent.operation === "delete") {
      if (Option.isSome(head)) return yield* dropIntent(cache, store, pending, current, head)
      yield* commitDelete(cache, pending, current)
      return "rolled-forward" as Resolution
    }
    if (Option.isNone(head) || intent.etag === undefined || head.value.etag !== intent.etag)
      return yield* dropIntent(cache, store, pending, current, head)
    const stored = yield* store.getKey(intent.s3Key)
    // Changed between the HEAD and the read: what the intent meant is gone from S3.
    if (Option.isNone(stored) || stored.value.etag !== intent.etag)
      return yield* dropIntent(cache, store, pending, current, head)
    yield* cache.commit({
      kind,
      id,
      writer: intent.writer,
      previous: current.entry,
      change: { _tag: "Put", document: stored.value.document, s3Key: intent.s3Key, etag: intent.etag },
    })
    return "rolled-forward" as Resolution
  })

/**
 * Resolves `pending` if it is still there and its lease has expired. Needs
 * both ports; the caller's clock decides expiry. The steps: `settleIntent`
 * decides, `dropIntent` and `commitDelete` apply; this counts and logs.
 */
export const resolve = (
  cache: DocumentCache.Service,
  store: DocumentStore.Service,
  pending: DocumentCache.PendingIntent,
  by: Resolver,
): Effect.Effect<Resolution, ResolveError> => {
  const { kind, id, intent } = pending
  return settleIntent(cache, store, pending).pipe(
    Effect.tap((resolution) => (resolution === "gone" ? Effect.void : count(resolution))),
    Effect.tapError(() => count("failed")),
    OperationLog.logged(
      "heal.resolve",
      {
        key: `${kind}/${id}`,
        by,
        writer: intent.writer,
        intent: intent.operation,
        ...(intent.version !== undefined ? { version: intent.version } : {}),
        leaseExpiresAt: new Date(intent.leaseExpiresAt).toISOString(),
      },
      { describe: (resolution) => ({ outcome: resolution }) },
    ),
  )
}

/** What a sweep did. */
export interface SweepReport {
  /** Expired intents found in the index. */
  readonly found: number
  readonly rolledForward: number
  readonly dropped: number
  /** Found in the index but already gone when resolved. */
  readonly gone: number
  /** Resolutions that failed (logged; the next sweep retries them). */
  readonly failed: number
}

/** A sweep's progress: what it did so far, and how many expired intents it counted before it began. */
export interface SweepProgress extends SweepReport {
  /**
   * Expired intents in the index when the sweep began (the first pass's count). Intents resolved
   * meanwhile by someone else are still found (`gone`), so `found` reaches `total` at the end.
   */
  readonly total: number
}

/** Options of {@link sweep}. */
export interface SweepOptions {
  /** Resolutions run at once (default 4). */
  readonly concurrency?: number
  /**
   * Called once the expired intents are counted and after each intent, for progress with a
   * total. Given it, the sweep reads the index twice: once to count (the index is sparse and
   * projects only the intent, so a Query page holds hundreds of them), once to resolve.
   */
  readonly onProgress?: (progress: SweepProgress) => Effect.Effect<void>
}

/**
 * Resolves every intent whose lease has expired, from the sparse intents index.
 * A failed resolution is counted and left for the next sweep; the sweep itself
 * fails only when the index cannot be read.
 */
export const sweep = (
  options: SweepOptions = {},
): Effect.Effect<SweepReport, DocumentCache.CacheError, DocumentCache.DocumentCache | DocumentStore.DocumentStore> =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    const store = yield* DocumentStore.DocumentStore
    const now = yield* Clock.currentTimeMillis
    let report: SweepReport = { found: 0, rolledForward: 0, dropped: 0, gone: 0, failed: 0 }
    // Expired means `leaseExpiresAt <= now` (as in `resolve`); the index answers strictly before its bound.
    const expired = cache.intents({ expiredBefore: now + 1 })
    const onProgress = options.onProgress
    // The same bound both times: an intent written after `now` has a lease beyond it, so the
    // second pass finds no intent the first did not count.
    let total = 0
    if (onProgress !== undefined) {
      total = yield* Stream.runCount(expired)
      yield* onProgress({ ...report, total })
    }
    yield* expired.pipe(
      Stream.mapEffect((pending) => Effect.either(resolve(cache, store, pending, "sweep")), {
        concurrency: Math.max(1, options.concurrency ?? 4),
      }),
      Stream.runForEach((result) => {
        report = {
          ...report,
          found: report.found + 1,
          ...(result._tag === "Left"
            ? { failed: report.failed + 1 }
            : result.right === "rolled-forward"
              ? { rolledForward: report.rolledForward + 1 }
              : result.right === "dropped"
                ? { dropped: report.dropped + 1 }
                : { gone: report.gone + 1 }),
        }
        return onProgress === undefined ? Effect.void : onProgress({ ...report, total: Math.max(total, report.found) })
      }),
    )
    return report
  }).pipe(OperationLog.logged("heal.sweep", {}, { describe: (report) => ({ outcome: "ok", ...report }) }))

/** Whether a write was refused because the document carries a write intent. */
export const isIntentRefusal = (error: unknown): error is DocumentCache.ConditionFailedError =>
  error instanceof DocumentCache.ConditionFailedError && error.condition === DocumentCache.noIntentCondition

/**
 * What event sync does when its write meets an intent (DESIGN section 6):
 * S3 showing exactly what a live intent means (its ETag; no object for a
 * delete) commits it on the writer's behalf (`committed`); an expired intent is
 * resolved (`resolved`: converge again); any other live intent is the writer's
 * to finish (`pending`: its commit, or the event of its put, converges the key).
 * `none`: no intent any more (converge again).
 */
export const meet = (
  cache: DocumentCache.Service,
  store: DocumentStore.Service,
  kind: string,
  id: string,
  seen: Option.Option<{ readonly document: Document.AnyDocument; readonly etag: string; readonly key: string }>,
  by: Resolver,
): Effect.Effect<"committed" | "resolved" | "pending" | "none", ResolveError> =>
  Effect.gen(function* () {
    const current = yield* cache.inspect(kind, id)
    if (Option.isNone(current.intent)) return "none" as const
    const intent = current.intent.value
    if (intent.leaseExpiresAt <= (yield* Clock.currentTimeMillis)) {
      yield* resolve(cache, store, { kind, id, intent }, by)
      return "resolved" as const
    }
    const matches =
      intent.operation === "delete"
        ? Option.isNone(seen)
        : Option.isSome(seen) && intent.etag !== undefined && seen.value.etag === intent.etag
    if (!matches) return "pending" as const
    yield* cache.commit({
      kind,
      id,
      writer: intent.writer,
      previous: current.entry,
      change: Option.match(seen, {
        onNone: (): DocumentCache.CommitChange => ({ _tag: "Delete", ttlSeconds: tombstoneTtlSeconds }),
        onSome: (s): DocumentCache.CommitChange => ({ _tag: "Put", document: s.document, s3Key: s.key, etag: s.etag }),
      }),
    })
    yield* count("committed-for-writer")
    return "committed" as const
  })

/**
 * The resolution of abandoned write intents, `Heal`'s steps without its sweep
 * (which reads the intents index as a `Stream`): `resolve`, `meet` and
 * `isIntentRefusal`, which event sync uses on every record whose write meets an
 * intent. `Heal` re-exports every name; import them from there. Apart so that
 * event sync's module graph (the Lambda's cold start) carries no `Stream`.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as Document from "../Document.js"
import * as DocumentCache from "../DocumentCache.js"
import type * as DocumentKind from "../DocumentKind.js"
import * as DocumentStore from "../DocumentStore.js"
import * as OperationLog from "../OperationLog.js"

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

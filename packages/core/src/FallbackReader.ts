/**
 * The fallback read (DESIGN section 6): the cache first; on a miss, an expired
 * entry, a tombstone, a pointer item (body over the item limit) or any cache
 * error, S3. After a fallback the cache is refilled in the background: the read
 * neither waits for the refill nor fails with it (a failed refill is logged and
 * counted as `CacheRefills{outcome=failed}`).
 *
 * Invariant 3: a read that falls back returns exactly S3's document, whatever
 * the cache holds or fails with. A hit returns the cache's document.
 *
 * Refills run in a `FiberSet` owned by the layer: they are interrupted when the
 * layer's scope closes; {@link Service.awaitRefills} waits for them (a CLI
 * does, before it exits).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as CacheEntry from "./CacheEntry.js"
import * as CacheMetrics from "./CacheMetrics.js"
import * as DocketConfig from "./DocketConfig.js"
import type * as Document from "./Document.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentKind from "./DocumentKind.js"
import * as DocumentStore from "./DocumentStore.js"
import * as Heal from "./Heal.js"
import * as OperationLog from "./OperationLog.js"

/** A document read, and where it came from. */
export interface ReadResult {
  readonly document: Document.AnyDocument
  readonly source: "cache" | "store"
  readonly s3Key: string
}

/** Why a read went to S3. */
export type FallbackReason = "miss" | "expired" | "tombstone" | "pointer" | "cache-error" | "cache-off"

/** What a read can fail with: S3 could not answer, or its object is not a valid document. Cache errors never fail a read. */
export type ReadError = DocumentStore.StoreError | DocumentKind.DocumentDecodeError

/** The FallbackReader service. */
export interface Service {
  /** Reads a document: `None` when S3 has no object for it (and the cache no live entry). */
  readonly read: (
    kind: string,
    id: string,
  ) => Effect.Effect<Option.Option<ReadResult>, DocumentStore.StoreError | DocumentKind.DocumentDecodeError>
  /** Waits until every background refill started so far has finished. */
  readonly awaitRefills: Effect.Effect<void>
}

/** The FallbackReader service tag. */
export class FallbackReader extends Context.Tag("@docket/core/FallbackReader")<FallbackReader, Service>() {}

const absent: DocumentCache.Condition = { _tag: "Absent" }

/** Refill over the version the read saw, only with a newer one from S3. */
const newerThan =
  (seen: number) =>
  (stored: DocumentStore.StoredDocument): Option.Option<DocumentCache.Condition> =>
    stored.document.version > seen ? Option.some({ _tag: "VersionIs", version: seen }) : Option.none()

const countRefill = CacheMetrics.incrementTagged(CacheMetrics.refills, "outcome")

/** What a read and its refills use, built once by {@link make}. */
interface Reader {
  readonly cache: DocumentCache.Service
  readonly store: DocumentStore.Service
  readonly settings: DocketConfig.Settings
  readonly registry: DocumentKind.Registry
  /** The background refills (and intent resolutions), interrupted with the layer's scope. */
  readonly refills: FiberSet.FiberSet<void, never>
}

/**
 * Puts S3's document into the cache, only over what the read saw (`condition`):
 * nothing at all, or the exact older version it found. A tombstone, or anything
 * written since, wins. Never fails.
 */
const refill = (
  reader: Reader,
  key: string,
  stored: DocumentStore.StoredDocument,
  reason: FallbackReason,
  condition: DocumentCache.Condition,
) =>
  Effect.gen(function* () {
    const summary = reader.registry.summarize(stored.document)
    const now = yield* Clock.currentTimeMillis
    if (CacheEntry.isExpired(CacheEntry.expiresAt(summary.time, reader.settings.ttlDays), now)) return "skipped-expired"
    const outcome = yield* reader.cache.put(stored.document, { s3Key: stored.key, etag: stored.etag, condition })
    return outcome._tag === "Written" ? "ok" : "unchanged"
  }).pipe(
    // Something else reached the cache first: it wins, nothing to do.
    Effect.catchTag("StaleWriteError", () => Effect.succeed("skipped-newer")),
    Effect.catchTag("ConditionFailedError", () => Effect.succeed("skipped-changed")),
    Effect.tap((outcome) => countRefill(outcome === "ok" || outcome === "unchanged" ? "ok" : "skipped")),
    Effect.tapError(() => countRefill("failed")),
    OperationLog.logged(
      "fallbackReader.refill",
      { key, s3Key: stored.key, version: stored.document.version, reason },
      {
        describe: (outcome) => ({ outcome }),
      },
    ),
    Effect.ignore,
  )

/** In a dry run: the refill a fallback would start, logged. */
const logDryRunRefill = (key: string, stored: DocumentStore.StoredDocument) =>
  Effect.logInfo("fallbackReader.refill").pipe(
    Effect.annotateLogs({
      operation: "fallbackReader.refill",
      key,
      outcome: "dry-run",
      would: `put cache ${key} version ${stored.document.version}`,
      durationMs: 0,
    }),
  )

/** Reads S3 for a read the cache could not answer, and starts the refill `refillAfter` allows. */
const fromStore = (
  reader: Reader,
  kind: string,
  id: string,
  reason: FallbackReason,
  /** The condition a refill with S3's document is written under; `None`: no refill. */
  refillAfter: (stored: DocumentStore.StoredDocument) => Option.Option<DocumentCache.Condition>,
) =>
  Effect.gen(function* () {
    const { settings } = reader
    yield* Metric.increment(CacheMetrics.fallbacks)
    if (reason !== "cache-error" && reason !== "cache-off") yield* Metric.increment(CacheMetrics.cacheMisses)
    const stored = yield* reader.store.get(kind, id)
    const condition = Option.flatMap(stored, refillAfter)
    if (Option.isSome(stored) && settings.cacheEnabled && Option.isSome(condition)) {
      const key = `${kind}/${id}`
      if (settings.dryRun) yield* logDryRunRefill(key, stored.value)
      else yield* FiberSet.run(reader.refills, refill(reader, key, stored.value, reason, condition.value))
    }
    return Option.map(stored, (s): ReadResult => ({ document: s.document, source: "store", s3Key: s.key }))
  })

/**
 * An expired intent (a dead writer's) found by a read is resolved in the
 * background, so the read is not slowed. Reads see committed state only.
 */
const resolveExpiredIntent = (reader: Reader, kind: string, id: string, intent: DocumentCache.Intent) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    intent.leaseExpiresAt <= now && !reader.settings.dryRun
      ? Effect.asVoid(
          FiberSet.run(
            reader.refills,
            Effect.ignore(Heal.resolve(reader.cache, reader.store, { kind, id, intent }, "reader")),
          ),
        )
      : Effect.void,
  )

/** A read: the cache's committed entry, or S3 for the reason the cache could not answer; logged with that reason. */
const readThrough = (reader: Reader, kind: string, id: string): ReturnType<Service["read"]> => {
  const { cache, settings } = reader
  const key = `${kind}/${id}`
  const s3Key = reader.store.keyOf(kind, id)
  let reason: FallbackReason | "hit" = "hit"
  const run = Effect.gen(function* () {
    if (!settings.cacheEnabled) {
      reason = "cache-off"
      return yield* fromStore(reader, kind, id, "cache-off", () => Option.none())
    }
    // One consistent read gives the committed entry and any write intent.
    const inspected = yield* Effect.exit(cache.inspect(kind, id))
    if (Exit.isSuccess(inspected) && Option.isSome(inspected.value.intent)) {
      yield* resolveExpiredIntent(reader, kind, id, inspected.value.intent.value)
    }
    const cached = Exit.map(inspected, (i) => i.entry)
    if (Exit.isFailure(cached)) {
      // Interruptions and defects are not cache errors: they propagate.
      if (Option.isNone(failureOnly(cached.cause))) return yield* Effect.failCause(cached.cause as Cause.Cause<never>)
      reason = "cache-error"
      // The cache's state is unknown: refill only where it turns out to have nothing.
      return yield* fromStore(reader, kind, id, reason, () => Option.some(absent))
    }
    const entry = cached.value
    if (Option.isNone(entry)) {
      reason = "miss"
      return yield* fromStore(reader, kind, id, reason, () => Option.some(absent))
    }
    const value = entry.value
    if (value._tag === "Tombstone") {
      // A tombstone guards a recent delete: refilling from a read that raced the delete could resurrect it.
      reason = "tombstone"
      return yield* fromStore(reader, kind, id, reason, () => Option.none())
    }
    if (CacheEntry.isExpired(value.expiresAt, yield* Clock.currentTimeMillis)) {
      reason = "expired"
      return yield* fromStore(reader, kind, id, reason, newerThan(value.summary.version))
    }
    if (value.document === undefined) {
      reason = "pointer"
      return yield* fromStore(reader, kind, id, reason, newerThan(value.summary.version))
    }
    yield* Metric.increment(CacheMetrics.cacheHits)
    return Option.some<ReadResult>({ document: value.document, source: "cache", s3Key: value.s3Key })
  })
  return run.pipe(
    OperationLog.logged(
      "fallbackReader.read",
      { key, s3Key },
      {
        describe: (result) => ({
          outcome: reason === "hit" ? "hit" : Option.isSome(result) ? "fallback" : "not-found",
          ...(reason === "hit" ? {} : { reason }),
          ...Option.match(result, { onNone: () => ({}), onSome: (r) => ({ version: r.document.version }) }),
        }),
        // A hit is the hot path: its line is debug (DOCKET_LOG_LEVEL=debug), counted in CacheHits either way.
        // Fallbacks stay info; failures warn.
        level: () => (reason === "hit" ? "debug" : "info"),
      },
    ),
  )
}

/** Builds the reader; its refills live as long as the scope. */
export const make: Effect.Effect<
  Service,
  never,
  | DocumentCache.DocumentCache
  | DocumentStore.DocumentStore
  | DocketConfig.DocketConfig
  | DocumentKind.DocumentKinds
  | Scope.Scope
> = Effect.gen(function* () {
  const reader: Reader = {
    cache: yield* DocumentCache.DocumentCache,
    store: yield* DocumentStore.DocumentStore,
    settings: yield* DocketConfig.DocketConfig,
    registry: yield* DocumentKind.DocumentKinds,
    refills: yield* FiberSet.make<void, never>(),
  }
  return { read: (kind, id) => readThrough(reader, kind, id), awaitRefills: FiberSet.awaitEmpty(reader.refills) }
})

/** The typed failure of a cause, unless it is an interruption or a defect. */
const failureOnly = <E>(cause: Cause.Cause<E>): Option.Option<E> =>
  Cause.isInterrupted(cause) || Cause.isDie(cause) ? Option.none() : Cause.failureOption(cause)

/** Provides {@link FallbackReader} over the ports, kinds and settings in context. */
export const layer: Layer.Layer<
  FallbackReader,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig | DocumentKind.DocumentKinds
> = Layer.scoped(FallbackReader, make)

/** Reads through the service in context. */
export const read = (
  kind: string,
  id: string,
): Effect.Effect<
  Option.Option<ReadResult>,
  DocumentStore.StoreError | DocumentKind.DocumentDecodeError,
  FallbackReader
> => Effect.flatMap(FallbackReader, (service) => service.read(kind, id))

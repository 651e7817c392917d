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
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
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
 * written since, wins. Never fails. Plain steps: the expiry check, the put (a step:
 * its success line is debug, this one is the refill's), the outcome counted.
 */
const refill = (
  reader: Reader,
  key: string,
  stored: DocumentStore.StoredDocument,
  reason: FallbackReason,
  condition: DocumentCache.Condition,
) =>
  Effect.clockWith((clock) => {
    const summary = reader.registry.summarize(stored.document)
    const expires = CacheEntry.expiresAt(summary.time, reader.settings.ttlDays)
    if (CacheEntry.isExpired(expires, clock.unsafeCurrentTimeMillis()))
      return Effect.succeed<RefillOutcome>("skipped-expired")
    return Effect.map(
      reader.cache.put(stored.document, { s3Key: stored.key, etag: stored.etag, condition, step: true }),
      (outcome): RefillOutcome => (outcome._tag === "Written" ? "ok" : "unchanged"),
    )
  }).pipe(
    Effect.matchEffect({
      onSuccess: (outcome) =>
        Effect.as(countRefill(outcome === "ok" || outcome === "unchanged" ? "ok" : "skipped"), outcome),
      onFailure: (error) =>
        // Something else reached the cache first: it wins, nothing to do.
        error._tag === "StaleWriteError"
          ? Effect.as(countRefill("skipped"), "skipped-newer" as const)
          : error._tag === "ConditionFailedError"
            ? Effect.as(countRefill("skipped"), "skipped-changed" as const)
            : Effect.zipRight(countRefill("failed"), Effect.fail(error)),
    }),
    OperationLog.logged(
      "fallbackReader.refill",
      { key, s3Key: stored.key, version: stored.document.version, reason },
      {
        describe: (outcome) => ({ outcome }),
      },
    ),
    Effect.ignore,
  )

type RefillOutcome = "ok" | "unchanged" | "skipped-expired" | "skipped-newer" | "skipped-changed"

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
): Effect.Effect<Option.Option<ReadResult>, ReadError> => {
  const { settings } = reader
  const counted =
    reason !== "cache-error" && reason !== "cache-off"
      ? Effect.zipRight(Metric.increment(CacheMetrics.fallbacks), Metric.increment(CacheMetrics.cacheMisses))
      : Metric.increment(CacheMetrics.fallbacks)
  return Effect.zipRight(
    counted,
    Effect.flatMap(reader.store.get(kind, id), (stored) => {
      if (Option.isNone(stored)) return Effect.succeed(Option.none())
      const found = stored.value
      const result = Option.some<ReadResult>({ document: found.document, source: "store", s3Key: found.key })
      const condition = settings.cacheEnabled ? refillAfter(found) : Option.none()
      if (Option.isNone(condition)) return Effect.succeed(result)
      const key = `${kind}/${id}`
      return Effect.as(
        settings.dryRun
          ? logDryRunRefill(key, found)
          : FiberSet.run(reader.refills, refill(reader, key, found, reason, condition.value)),
        result,
      )
    }),
  )
}

/**
 * An expired intent (a dead writer's) found by a read is resolved in the
 * background, so the read is not slowed. Reads see committed state only.
 */
const resolveExpiredIntent = (reader: Reader, kind: string, id: string, intent: DocumentCache.Intent, now: number) =>
  intent.leaseExpiresAt <= now && !reader.settings.dryRun
    ? Effect.asVoid(
        FiberSet.run(
          reader.refills,
          Effect.ignore(Heal.resolve(reader.cache, reader.store, { kind, id, intent }, "reader")),
        ),
      )
    : Effect.void

/**
 * A read: the cache's committed entry, or S3 for the reason the cache could not answer; logged
 * with that reason. Plain steps, no generator (a hit is the hot path): the cache's inspection,
 * then one step for the clock read (the entry's expiry and any intent's lease) and the hit counter.
 */
const readThrough = (reader: Reader, kind: string, id: string): ReturnType<Service["read"]> => {
  const { cache, settings } = reader
  const key = `${kind}/${id}`
  const s3Key = reader.store.keyOf(kind, id)
  let reason: FallbackReason | "hit" = "hit"
  const fallback = (
    why: FallbackReason,
    refillAfter: (stored: DocumentStore.StoredDocument) => Option.Option<DocumentCache.Condition>,
  ) => {
    reason = why
    return fromStore(reader, kind, id, why, refillAfter)
  }
  const decide = (
    entry: Option.Option<CacheEntry.Entry>,
    now: number,
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
  ): ReturnType<Service["read"]> => {
    if (Option.isNone(entry)) return fallback("miss", refillIfAbsent)
    const value = entry.value
    // A tombstone guards a recent delete: refilling from a read that raced the delete could resurrect it.
    if (value._tag === "Tombstone") return fallback("tombstone", noRefill)
    if (CacheEntry.isExpired(value.expiresAt, now)) return fallback("expired", newerThan(value.summary.version))
    if (value.document === undefined) return fallback("pointer", newerThan(value.summary.version))
    // The hit counted in this step, as `Metric.increment` does it (with the fiber's metric labels).
    CacheMetrics.cacheHits.unsafeUpdate(1, fiber.getFiberRef(FiberRef.currentMetricLabels))
    return Effect.succeed(Option.some<ReadResult>({ document: value.document, source: "cache", s3Key: value.s3Key }))
  }
  const run: ReturnType<Service["read"]> = !settings.cacheEnabled
    ? Effect.suspend(() => fallback("cache-off", noRefill))
    : // One consistent read gives the committed entry and any write intent.
      Effect.matchCauseEffect(cache.inspect(kind, id), {
        onFailure: (cause) =>
          // Interruptions and defects are not cache errors: they propagate. The cache's state is
          // unknown: refill only where it turns out to have nothing.
          Option.isNone(failureOnly(cause))
            ? Effect.failCause(cause as Cause.Cause<never>)
            : fallback("cache-error", refillIfAbsent),
        onSuccess: (inspection) =>
          Effect.withFiberRuntime((fiber) => {
            const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
            const read = decide(inspection.entry, now, fiber)
            return Option.isSome(inspection.intent)
              ? Effect.zipRight(resolveExpiredIntent(reader, kind, id, inspection.intent.value, now), read)
              : read
          }),
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

const noRefill = () => Option.none<DocumentCache.Condition>()
const refillIfAbsent = () => Option.some(absent)

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

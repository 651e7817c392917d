/**
 * Event sync of one record (DESIGN section 6), the steps of
 * `S3EventSync.syncRecord` as named functions: which sequencer to store and
 * under which condition ({@link guardOf}), the conditional put or tombstone of
 * S3's current state ({@link converge}), and what to do about a write intent on
 * the key ({@link meetIntent}). `S3EventSync` re-exports the public names; the
 * batch and the in-process consumer are there.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as CacheMetrics from "../CacheMetrics.js"
import * as DocketConfig from "../DocketConfig.js"
import * as DocumentCache from "../DocumentCache.js"
import * as DocumentKind from "../DocumentKind.js"
import * as DocumentStore from "../DocumentStore.js"
import * as OperationLog from "../OperationLog.js"
import * as Retry from "../Retry.js"
import type * as S3Event from "../S3Event.js"
import * as S3Key from "../S3Key.js"
import * as Heal from "./resolveIntent.js"

/** How event sync behaves. */
export interface Options {
  /**
   * How long a tombstone outlives a delete. It only has to outlast the window in
   * which a worker may hold an older read of S3 (one Lambda invocation, at most
   * 15 minutes, plus retries); a late record after it expires re-reads S3 and
   * finds the object absent anyway. Default: 1 hour.
   */
  readonly tombstoneTtl?: Duration.DurationInput
  /** Records processed at once in a batch. Default 16. */
  readonly concurrency?: number
  /** Retry policy per record. Default: {@link Retry.defaultPolicy} with `DOCKET_MAX_ATTEMPTS`. */
  readonly retry?: Retry.Policy
}

/** The default tombstone lifetime: one hour. */
export const defaultTombstoneTtl: Duration.Duration = Duration.hours(1)

/** The default number of records processed at once. */
export const defaultConcurrency = 16

/** What processing one record did. */
export type Outcome =
  /** The cache now holds S3's current document (`Unchanged`: it already did). */
  | {
      readonly _tag: "Written" | "Unchanged"
      readonly kind: string
      readonly id: string
      readonly version: number
    }
  /** S3 has no object: the cache holds a tombstone. */
  | { readonly _tag: "Tombstoned"; readonly kind: string; readonly id: string }
  /** The cache already holds a newer state (a later sequencer was applied). */
  | { readonly _tag: "Stale"; readonly kind: string; readonly id: string }
  /** Nothing to do for this record. */
  | {
      readonly _tag: "Skipped"
      readonly reason: "NotADocument" | "OtherBucket" | "NoContentChange" | "TestEvent" | "CacheDisabled"
    }
  /** Dry run: what would have been written. */
  | { readonly _tag: "DryRun"; readonly kind: string; readonly id: string; readonly action: "put" | "tombstone" }

/** A record that could not be applied (after retries). */
export class EventSyncError extends Data.TaggedError("EventSyncError")<{
  readonly reason: "StoreFailed" | "CacheFailed" | "InvalidDocument" | "Defect"
  /** The decoded S3 key. */
  readonly key: string
  /** Where the record sits in its event. */
  readonly location: string
  readonly messageId?: string
  readonly cause?: unknown
}> {
  get retryable(): boolean {
    const cause = this.cause as { retryable?: unknown } | undefined
    return cause?.retryable === true
  }
  override get message() {
    const cause = this.cause as { message?: unknown } | undefined
    const why = typeof cause?.message === "string" ? `: ${cause.message}` : ""
    const what =
      this.reason === "InvalidDocument"
        ? "holds no valid document for its key"
        : this.reason === "StoreFailed"
          ? "could not be read from S3"
          : this.reason === "CacheFailed"
            ? "could not be written to the cache"
            : "hit a defect"
    return `Event ${this.location} for ${JSON.stringify(this.key)} ${what}${why}`
  }
}

/** What the workflow needs. */
export type Requirements =
  | DocumentCache.DocumentCache
  | DocumentStore.DocumentStore
  | DocketConfig.DocketConfig
  | DocumentKind.DocumentKinds

const skipped = (
  record: S3Event.EventRecord,
  reason: Extract<Outcome, { _tag: "Skipped" }>["reason"],
): Effect.Effect<Outcome> =>
  OperationLog.logDebugLazily("event-sync", () => ({
    operation: "event-sync",
    outcome: "Skipped",
    reason,
    key: record.key,
    bucket: record.bucket,
    eventName: record.eventName,
    location: record.location,
  })).pipe(
    Effect.zipRight(Metric.increment(CacheMetrics.eventsSkipped)),
    Effect.as({ _tag: "Skipped", reason } as const),
  )

/** The default policy's retry wrapper per settings: built once, not per record (a schedule each time). */
const defaultRetrying = new WeakMap<DocketConfig.Settings, ReturnType<typeof Retry.retrying>>()

const retryingOf = (options: Options, settings: DocketConfig.Settings): ReturnType<typeof Retry.retrying> => {
  if (options.retry !== undefined) return Retry.retrying(options.retry)
  let retrying = defaultRetrying.get(settings)
  if (retrying === undefined) {
    retrying = Retry.retrying({ ...Retry.defaultPolicy, maxAttempts: settings.maxAttempts })
    defaultRetrying.set(settings, retrying)
  }
  return retrying
}

/** The next sequencer after a normalised one (same width). */
const successor = (sequencer: string): string =>
  (BigInt(`0x${sequencer}`) + 1n).toString(16).toUpperCase().padStart(sequencer.length, "0")

/** What one record's convergence works on: the record, its key, the ports and the settings. */
interface Step {
  readonly record: S3Event.EventRecord
  readonly kind: string
  readonly id: string
  readonly cache: DocumentCache.Service
  readonly store: DocumentStore.Service
  readonly settings: DocketConfig.Settings
  readonly ttlSeconds: number
}

/** The record's failure, with its key and where it sits in its event. */
const failure = (record: S3Event.EventRecord, reason: EventSyncError["reason"], cause: unknown) =>
  new EventSyncError({
    reason,
    key: record.key,
    location: record.location,
    cause,
    ...(record.messageId !== undefined ? { messageId: record.messageId } : {}),
  })

/** Which sequencer to store and under which condition to write. */
interface Guard {
  readonly sequencer?: string
  readonly condition?: DocumentCache.Condition
}

/**
 * The guard of a write. With the record's sequencer: "nothing newer is stored".
 * Without one ("re-read S3"): keep the sequencer already stored (`snapshot`, the
 * cache read taken BEFORE the S3 read), on condition that it did not move
 * meanwhile, so a no-sequencer record never lets an older read win later.
 */
export const guardOf = (step: Step, snapshot: Option.Option<DocumentCache.Snapshot>): Guard =>
  Option.match(step.record.sequencer, {
    onSome: (sequencer): Guard => ({ sequencer, condition: { _tag: "SequencerBefore", sequencer } }),
    onNone: (): Guard => {
      const stored = Option.getOrUndefined(Option.flatMap(snapshot, (s) => s.entry))?.sequencer
      // Nothing sequenced stored yet: still only if no sequenced record lands meanwhile
      // (every normalised sequencer is at or after "0"), or a record in flight while a
      // newer event completes would overwrite that event's state with what it read.
      return stored === undefined
        ? { condition: { _tag: "SequencerBefore", sequencer: "0" } }
        : { sequencer: stored, condition: { _tag: "SequencerBefore", sequencer: successor(stored) } }
    },
  })

/**
 * A write intent on the key (DESIGN section 6): commit it when S3 shows what it
 * means (then the record's outcome is `committed`), resolve it when expired (then
 * fail retryably, to converge again), leave a live one to its writer (`Stale`).
 */
export const meetIntent = (
  step: Step,
  seen: Option.Option<DocumentStore.StoredDocument>,
  committed: Outcome,
): Effect.Effect<Outcome, EventSyncError> => {
  const { kind, id } = step
  return Heal.meet(step.cache, step.store, kind, id, seen, "event-sync").pipe(
    Effect.mapError((e) => failure(step.record, e._tag === "StoreError" ? "StoreFailed" : "CacheFailed", e)),
    Effect.flatMap((met) =>
      met === "committed"
        ? Effect.succeed(committed)
        : met === "pending"
          ? Effect.succeed<Outcome>({ _tag: "Stale", kind, id })
          : Effect.fail(
              failure(
                step.record,
                "CacheFailed",
                new DocumentCache.CacheError({
                  reason: "Contention",
                  operation: "event-sync",
                  key: `${kind}/${id}`,
                  cause: "a write intent was resolved; converging again",
                }),
              ),
            ),
    ),
  )
}

/** Puts S3's current document under the guard; a refused condition means a newer state is cached. */
const putCurrent = (
  step: Step,
  current: DocumentStore.StoredDocument,
  guard: Guard,
  snapshot: Option.Option<DocumentCache.Snapshot>,
): Effect.Effect<Outcome, EventSyncError> => {
  const { kind, id } = step
  const { document, etag } = current
  if (document.kind !== kind || document.id !== id) {
    return Effect.fail(
      failure(
        step.record,
        "InvalidDocument",
        new Error(`the object holds ${document.kind} ${document.id}, but its key names ${kind} ${id}`),
      ),
    )
  }
  if (step.settings.dryRun) return Effect.succeed({ _tag: "DryRun", kind, id, action: "put" })
  return step.cache
    .put(document, {
      s3Key: step.record.key,
      etag,
      // A step of the record's own `event-sync` line (key, outcome, version): its success line is debug.
      step: true,
      ...(guard.sequencer !== undefined ? { sequencer: guard.sequencer } : {}),
      ...(guard.condition !== undefined ? { condition: guard.condition } : {}),
      ...(Option.isSome(snapshot) ? { seen: snapshot.value } : {}),
    })
    .pipe(
      Effect.map(
        (outcome): Outcome => ({
          _tag: outcome._tag === "Written" ? "Written" : "Unchanged",
          kind,
          id,
          version: document.version,
        }),
      ),
      Effect.catchTags({
        StaleWriteError: () => Effect.succeed<Outcome>({ _tag: "Stale", kind, id }),
        ConditionFailedError: (e) =>
          Heal.isIntentRefusal(e)
            ? meetIntent(step, Option.some(current), { _tag: "Written", kind, id, version: document.version })
            : Effect.succeed<Outcome>({ _tag: "Stale", kind, id }),
        CacheError: (e) => Effect.fail(failure(step.record, "CacheFailed", e)),
      }),
    )
}

/** Replaces the entry by a tombstone under the guard: S3 has no object for the key. */
const tombstoneAbsent = (
  step: Step,
  guard: Guard,
  snapshot: Option.Option<DocumentCache.Snapshot>,
): Effect.Effect<Outcome, EventSyncError> => {
  const { kind, id } = step
  if (step.settings.dryRun) return Effect.succeed({ _tag: "DryRun", kind, id, action: "tombstone" })
  return step.cache
    .tombstone(kind, id, {
      ttlSeconds: step.ttlSeconds,
      ...(guard.sequencer !== undefined ? { sequencer: guard.sequencer } : {}),
      ...(guard.condition !== undefined ? { condition: guard.condition } : {}),
      ...(Option.isSome(snapshot) ? { seen: snapshot.value } : {}),
    })
    .pipe(
      Effect.as<Outcome>({ _tag: "Tombstoned", kind, id }),
      Effect.catchTags({
        ConditionFailedError: (e) =>
          Heal.isIntentRefusal(e)
            ? meetIntent(step, Option.none(), { _tag: "Tombstoned", kind, id })
            : Effect.succeed<Outcome>({ _tag: "Stale", kind, id }),
        CacheError: (e) => Effect.fail(failure(step.record, "CacheFailed", e)),
      }),
    )
}

/** The cache read of the key, kept for the write (`seen`): the put or tombstone reads nothing more. */
const snapshotOf = (step: Step): Effect.Effect<Option.Option<DocumentCache.Snapshot>, EventSyncError> =>
  step.cache.snapshot(step.kind, step.id).pipe(
    Effect.mapError((e) => failure(step.record, "CacheFailed", e)),
    Effect.map(Option.some),
  )

/** S3's current state of the key. */
const readS3 = (step: Step): Effect.Effect<Option.Option<DocumentStore.StoredDocument>, EventSyncError> =>
  step.store
    .getKey(step.record.key)
    .pipe(Effect.mapError((e) => failure(step.record, e._tag === "StoreError" ? "StoreFailed" : "InvalidDocument", e)))

/**
 * Converges the key's cache entry to S3's current state: one cache read (a
 * snapshot the write decides on, checked atomically), one S3 read, one guarded
 * write. With the record's sequencer the guard needs nothing from the cache, so
 * the two reads run at once (the write's own compare-and-set covers any change
 * after the snapshot). Without one the guard is what the cache stores, so it is
 * read BEFORE S3: any write in between makes ours fail.
 */
export const converge = (step: Step): Effect.Effect<Outcome, EventSyncError> => {
  const decide = (
    snapshot: Option.Option<DocumentCache.Snapshot>,
    current: Option.Option<DocumentStore.StoredDocument>,
  ): Effect.Effect<Outcome, EventSyncError> => {
    const guard = guardOf(step, snapshot)
    return Option.isSome(current)
      ? putCurrent(step, current.value, guard, snapshot)
      : tombstoneAbsent(step, guard, snapshot)
  }
  if (Option.isNone(step.record.sequencer)) {
    return Effect.flatMap(snapshotOf(step), (snapshot) =>
      Effect.flatMap(readS3(step), (current) => decide(snapshot, current)),
    )
  }
  // A dry run writes nothing, so it needs no snapshot.
  if (step.settings.dryRun) return Effect.flatMap(readS3(step), (current) => decide(Option.none(), current))
  return Effect.flatMap(Effect.fork(snapshotOf(step)), (snapshot) =>
    Effect.flatMap(
      // The S3 read failed or was interrupted: the record ends, and so does its snapshot.
      Effect.onExit(readS3(step), (exit) => (Exit.isSuccess(exit) ? Effect.void : Fiber.interrupt(snapshot))),
      // `await`, not `join`: the snapshot's fiber changes no FiberRef of this one, so there is
      // nothing to merge back (a join diffs and merges every FiberRef of the child).
      (current) => Effect.flatMap(Effect.flatten(Fiber.await(snapshot)), (taken) => decide(taken, current)),
    ),
  )
}

/**
 * What every record of a batch shares, read once per batch ({@link prepare}): the settings, the
 * kinds, the ports, the clock, the tombstone lifetime and the retry wrapper.
 */
export interface Batch {
  readonly settings: DocketConfig.Settings
  readonly kinds: DocumentKind.Registry
  readonly cache: DocumentCache.Service
  readonly store: DocumentStore.Service
  readonly clock: Clock.Clock
  readonly ttlSeconds: number
  readonly retrying: ReturnType<typeof Retry.retrying>
}

/** Reads what {@link syncPrepared} needs, once for a whole batch. */
export const prepare = (options: Options = {}): Effect.Effect<Batch, never, Requirements> =>
  Effect.flatMap(Effect.context<Requirements>(), (context) =>
    Effect.map(Effect.clock, (clock): Batch => {
      const settings = Context.get(context, DocketConfig.DocketConfig)
      return {
        settings,
        kinds: Context.get(context, DocumentKind.DocumentKinds),
        cache: Context.get(context, DocumentCache.DocumentCache),
        store: Context.get(context, DocumentStore.DocumentStore),
        clock,
        ttlSeconds: Math.max(
          1,
          Math.ceil(Duration.toSeconds(Duration.decode(options.tombstoneTtl ?? defaultTombstoneTtl))),
        ),
        retrying: retryingOf(options, settings),
      }
    }),
  )

const describeOutcome = (o: Outcome): OperationLog.Fields => ({
  outcome: o._tag,
  ...("version" in o ? { version: o.version } : {}),
})

const countOutcome = (outcome: Outcome) =>
  Metric.increment(outcome._tag === "Stale" ? CacheMetrics.eventsStale : CacheMetrics.eventsProcessed)

/**
 * {@link syncRecord} on what its batch read once ({@link prepare}): plain steps, the record's log
 * fields built only when its line is written.
 */
export const syncPrepared = (batch: Batch, record: S3Event.EventRecord): Effect.Effect<Outcome, EventSyncError> =>
  Effect.suspend(() => {
    const { settings } = batch
    const lag = Metric.update(
      CacheMetrics.eventLag,
      Math.max(0, batch.clock.unsafeCurrentTimeMillis() - record.eventTimeMillis),
    )
    if (record.bucket !== settings.bucket) return Effect.zipRight(lag, skipped(record, "OtherBucket"))
    const parsed = S3Key.parse(settings.prefix, record.key, batch.kinds)
    if (Option.isNone(parsed)) return Effect.zipRight(lag, skipped(record, "NotADocument"))
    if (record.eventType === "other") return Effect.zipRight(lag, skipped(record, "NoContentChange"))
    // DOCKET_CACHE=off: everything is answered from S3, there is no cache to keep true.
    if (!settings.cacheEnabled) return Effect.zipRight(lag, skipped(record, "CacheDisabled"))
    const step: Step = {
      record,
      kind: parsed.value.kind,
      id: parsed.value.id,
      cache: batch.cache,
      store: batch.store,
      settings,
      ttlSeconds: batch.ttlSeconds,
    }
    const synced = converge(step).pipe(
      batch.retrying,
      OperationLog.logged<Outcome>(
        "event-sync",
        () => ({
          key: record.key,
          bucket: record.bucket,
          eventName: record.eventName,
          sequencer: record.rawSequencer ?? null,
          source: record.source,
          location: record.location,
          ...(record.messageId !== undefined ? { messageId: record.messageId } : {}),
        }),
        { describe: describeOutcome },
      ),
      Effect.tap(countOutcome),
    )
    return Effect.zipRight(lag, synced)
  })

/**
 * Applies one record: re-reads S3 and converges the cache to it (see
 * `S3EventSync`'s module documentation). Stale records succeed with `Stale`.
 * A batch reads its services once ({@link prepare}, {@link syncPrepared}).
 */
export const syncRecord = (
  record: S3Event.EventRecord,
  options: Options = {},
): Effect.Effect<Outcome, EventSyncError, Requirements> =>
  Effect.flatMap(prepare(options), (batch) => syncPrepared(batch, record))

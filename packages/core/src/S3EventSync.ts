/**
 * S3 event sync (DESIGN section 6): keeps the cache true when anything writes to
 * S3, from S3's at-least-once, unordered, occasionally lost event notifications.
 *
 * An event is a hint, never the data: for each record naming a document key,
 * Docket reads S3's CURRENT state and converges the cache to it with a
 * conditional write guarded by the record's normalised sequencer:
 *
 * - the object exists: put it, if the cached entry's sequencer is older
 *   (`SequencerBefore`), storing this sequencer;
 * - it does not: replace the entry by a tombstone that lives
 *   {@link Options.tombstoneTtl} (default one hour), under the same condition, so
 *   a slower worker that read S3 before the delete cannot resurrect it;
 * - the condition fails: the cache already holds a newer state; the record is
 *   stale (counted, not an error);
 * - the record has no usable sequencer (absent or not hex): the version rule
 *   for puts and an unconditional tombstone ("re-read S3").
 *
 * Because every record re-reads S3 and a write only lands when no newer
 * sequencer is stored, any order, duplication or delay of a key's records ends
 * with the cache equal to S3's final state. A lost record is covered by the next
 * record of the key or by Reconcile.
 *
 * Records are processed with bounded concurrency; each one is retried under the
 * retry policy, logged once (key, outcome, durationMs) and counted; a batch
 * returns one result per record, so a bad record never loses the others and SQS
 * can report `batchItemFailures`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "./CacheMetrics.js"
import * as DocketConfig from "./DocketConfig.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentKind from "./DocumentKind.js"
import * as DocumentStore from "./DocumentStore.js"
import * as Heal from "./Heal.js"
import * as OperationLog from "./OperationLog.js"
import * as Retry from "./Retry.js"
import * as S3Event from "./S3Event.js"
import * as S3Key from "./S3Key.js"

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

/**
 * {@link Options} from the environment: `DOCKET_TOMBSTONE_TTL_SECONDS` (default
 * 3600) and `DOCKET_EVENT_CONCURRENCY` (default 16).
 */
export const config: Config.Config<Options> = Config.all({
  tombstoneTtl: Config.integer("DOCKET_TOMBSTONE_TTL_SECONDS").pipe(
    Config.withDefault(3600),
    Config.validate({ message: "DOCKET_TOMBSTONE_TTL_SECONDS must be at least 1", validation: (n) => n >= 1 }),
    Config.map((n) => Duration.seconds(n)),
  ),
  concurrency: Config.integer("DOCKET_EVENT_CONCURRENCY").pipe(
    Config.withDefault(defaultConcurrency),
    Config.validate({ message: "DOCKET_EVENT_CONCURRENCY must be at least 1", validation: (n) => n >= 1 }),
  ),
})

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

/** The result of one entry of a batch. */
export interface RecordResult {
  readonly location: string
  readonly messageId?: string
  /** The decoded key, when the record got that far. */
  readonly key?: string
  readonly result: Either.Either<Outcome, EventSyncError | S3Event.MalformedEventError>
}

/** The result of a batch. */
export interface BatchResult {
  readonly source: S3Event.Source
  readonly results: ReadonlyArray<RecordResult>
  /** Results that failed. */
  readonly failed: ReadonlyArray<RecordResult>
  /**
   * SQS message ids to report in `batchItemFailures`: every message with a failed
   * record, in batch order. Empty for other sources.
   */
  readonly failedMessageIds: ReadonlyArray<string>
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
  Effect.logDebug("event-sync").pipe(
    Effect.annotateLogs({
      operation: "event-sync",
      outcome: "Skipped",
      reason,
      key: record.key,
      bucket: record.bucket,
      eventName: record.eventName,
      location: record.location,
    }),
    Effect.zipRight(Metric.increment(CacheMetrics.eventsSkipped)),
    Effect.as({ _tag: "Skipped", reason } as const),
  )

const retryPolicy = (options: Options, settings: DocketConfig.Settings): Retry.Policy =>
  options.retry ?? { ...Retry.defaultPolicy, maxAttempts: settings.maxAttempts }

/**
 * Applies one record: re-reads S3 and converges the cache to it (see the module
 * documentation). Stale records succeed with `Stale`.
 */
export const syncRecord = (
  record: S3Event.EventRecord,
  options: Options = {},
): Effect.Effect<Outcome, EventSyncError, Requirements> =>
  Effect.gen(function* () {
    const settings = yield* DocketConfig.DocketConfig
    const kinds = yield* DocumentKind.DocumentKinds
    const now = yield* Clock.currentTimeMillis
    yield* Metric.update(CacheMetrics.eventLag, Math.max(0, now - record.eventTimeMillis))

    if (record.bucket !== settings.bucket) return yield* skipped(record, "OtherBucket")
    const parsed = S3Key.parse(settings.prefix, record.key, kinds)
    if (Option.isNone(parsed)) return yield* skipped(record, "NotADocument")
    if (record.eventType === "other") return yield* skipped(record, "NoContentChange")
    // DOCKET_CACHE=off: everything is answered from S3, there is no cache to keep true.
    if (!settings.cacheEnabled) return yield* skipped(record, "CacheDisabled")
    const { kind, id } = parsed.value

    const cache = yield* DocumentCache.DocumentCache
    const store = yield* DocumentStore.DocumentStore
    const fail = (reason: EventSyncError["reason"], cause: unknown) =>
      new EventSyncError({
        reason,
        key: record.key,
        location: record.location,
        cause,
        ...(record.messageId !== undefined ? { messageId: record.messageId } : {}),
      })
    const ttlSeconds = Math.max(
      1,
      Math.ceil(Duration.toSeconds(Duration.decode(options.tombstoneTtl ?? defaultTombstoneTtl))),
    )

    // Which sequencer to store and under which condition to write. With the
    // record's sequencer: "nothing newer is stored". Without one ("re-read S3"):
    // keep the sequencer already stored, on condition that it did not move
    // meanwhile, so a no-sequencer record never lets an older read win later.
    const guard: Effect.Effect<
      { readonly sequencer?: string; readonly condition?: DocumentCache.Condition },
      EventSyncError
    > = Option.match(record.sequencer, {
      onSome: (sequencer) =>
        Effect.succeed({ sequencer, condition: { _tag: "SequencerBefore", sequencer } as DocumentCache.Condition }),
      onNone: () =>
        cache.get(kind, id, { includeExpired: true }).pipe(
          Effect.mapError((e) => fail("CacheFailed", e)),
          Effect.map((entry) => {
            const stored = Option.getOrUndefined(entry)?.sequencer
            // Nothing sequenced stored yet: still only if no sequenced record lands meanwhile
            // (every normalised sequencer is at or after "0"), or a record in flight while a
            // newer event completes would overwrite that event's state with what it read.
            return stored === undefined
              ? { condition: { _tag: "SequencerBefore", sequencer: "0" } as const }
              : { sequencer: stored, condition: { _tag: "SequencerBefore", sequencer: successor(stored) } as const }
          }),
        ),
    })
    // A write intent on the key (DESIGN section 6): commit it when S3 shows what it means, resolve it when
    // expired (then converge again), leave a live one to its writer.
    const meetIntent = (
      seen: Option.Option<DocumentStore.StoredDocument>,
      committed: Outcome,
    ): Effect.Effect<Outcome, EventSyncError> =>
      Heal.meet(cache, store, kind, id, seen, "event-sync").pipe(
        Effect.mapError((e) => fail(e._tag === "StoreError" ? "StoreFailed" : "CacheFailed", e)),
        Effect.flatMap((met) =>
          met === "committed"
            ? Effect.succeed(committed)
            : met === "pending"
              ? Effect.succeed<Outcome>({ _tag: "Stale", kind, id })
              : Effect.fail(
                  fail(
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
    const converge: Effect.Effect<Outcome, EventSyncError> = Effect.gen(function* () {
      // The guard is read before S3, so that any write in between makes ours fail.
      const { sequencer, condition } = yield* guard
      const current = yield* store
        .getKey(record.key)
        .pipe(Effect.mapError((e) => (e._tag === "StoreError" ? fail("StoreFailed", e) : fail("InvalidDocument", e))))
      if (Option.isSome(current)) {
        const { document, etag } = current.value
        if (document.kind !== kind || document.id !== id) {
          return yield* fail(
            "InvalidDocument",
            new Error(`the object holds ${document.kind} ${document.id}, but its key names ${kind} ${id}`),
          )
        }
        if (settings.dryRun) return { _tag: "DryRun", kind, id, action: "put" } as const
        return yield* cache
          .put(document, {
            s3Key: record.key,
            etag,
            ...(sequencer !== undefined ? { sequencer } : {}),
            ...(condition !== undefined ? { condition } : {}),
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
                  ? meetIntent(current, { _tag: "Written", kind, id, version: document.version })
                  : Effect.succeed<Outcome>({ _tag: "Stale", kind, id }),
              CacheError: (e) => Effect.fail(fail("CacheFailed", e)),
            }),
          )
      }
      if (settings.dryRun) return { _tag: "DryRun", kind, id, action: "tombstone" } as const
      return yield* cache
        .tombstone(kind, id, {
          ttlSeconds,
          ...(sequencer !== undefined ? { sequencer } : {}),
          ...(condition !== undefined ? { condition } : {}),
        })
        .pipe(
          Effect.as<Outcome>({ _tag: "Tombstoned", kind, id }),
          Effect.catchTags({
            ConditionFailedError: (e) =>
              Heal.isIntentRefusal(e)
                ? meetIntent(current, { _tag: "Tombstoned", kind, id })
                : Effect.succeed<Outcome>({ _tag: "Stale", kind, id }),
            CacheError: (e) => Effect.fail(fail("CacheFailed", e)),
          }),
        )
    })

    const outcome = yield* converge.pipe(
      Retry.retrying(retryPolicy(options, settings)),
      OperationLog.logged<Outcome>(
        "event-sync",
        {
          key: record.key,
          bucket: record.bucket,
          eventName: record.eventName,
          sequencer: record.rawSequencer ?? null,
          source: record.source,
          location: record.location,
          ...(record.messageId !== undefined ? { messageId: record.messageId } : {}),
        },
        { describe: (o) => ({ outcome: o._tag, ...("version" in o ? { version: o.version } : {}) }) },
      ),
    )
    yield* Metric.increment(outcome._tag === "Stale" ? CacheMetrics.eventsStale : CacheMetrics.eventsProcessed)
    return outcome
  })

/** The next sequencer after a normalised one (same width). */
const successor = (sequencer: string): string =>
  (BigInt(`0x${sequencer}`) + 1n).toString(16).toUpperCase().padStart(sequencer.length, "0")

const whereOf = (entry: S3Event.Entry): { location: string; messageId?: string; key?: string } => {
  switch (entry._tag) {
    case "Record":
      return {
        location: entry.record.location,
        key: entry.record.key,
        ...(entry.record.messageId !== undefined ? { messageId: entry.record.messageId } : {}),
      }
    case "Malformed":
      return {
        location: entry.error.location,
        ...(entry.error.messageId !== undefined ? { messageId: entry.error.messageId } : {}),
      }
    case "TestEvent":
      return { location: entry.location, ...(entry.messageId !== undefined ? { messageId: entry.messageId } : {}) }
  }
}

const processEntry = (entry: S3Event.Entry, options: Options): Effect.Effect<RecordResult, never, Requirements> => {
  const where = whereOf(entry)
  const run: Effect.Effect<Outcome, EventSyncError | S3Event.MalformedEventError, Requirements> =
    entry._tag === "Record"
      ? syncRecord(entry.record, options)
      : entry._tag === "TestEvent"
        ? Effect.logDebug("event-sync").pipe(
            Effect.annotateLogs({ operation: "event-sync", outcome: "Skipped", reason: "TestEvent", ...where }),
            Effect.as<Outcome>({ _tag: "Skipped", reason: "TestEvent" }),
          )
        : Effect.logWarning("event-sync").pipe(
            Effect.annotateLogs({
              operation: "event-sync",
              outcome: `MalformedEventError:${entry.error.reason}`,
              ...where,
              error: entry.error.message,
            }),
            Effect.zipRight(Effect.fail(entry.error)),
          )
  return Effect.exit(run).pipe(
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed<RecordResult>({ ...where, result: Either.right(exit.value) })
      const failure = Cause.failureOption(exit.cause)
      const error =
        failure._tag === "Some"
          ? failure.value
          : new EventSyncError({
              reason: "Defect",
              key: where.key ?? "(unknown)",
              location: where.location,
              cause: Cause.squash(exit.cause),
              ...(where.messageId !== undefined ? { messageId: where.messageId } : {}),
            })
      return Metric.increment(CacheMetrics.eventsFailed).pipe(
        Effect.as<RecordResult>({ ...where, result: Either.left(error) }),
      )
    }),
  )
}

/**
 * Processes the entries of a decoded event with bounded concurrency. Never
 * fails: each entry has its result, failures included (defects too).
 */
export const processDecoded = (
  decoded: S3Event.Decoded,
  options: Options = {},
): Effect.Effect<BatchResult, never, Requirements> =>
  Effect.forEach(decoded.entries, (entry) => processEntry(entry, options), {
    concurrency: options.concurrency ?? defaultConcurrency,
  }).pipe(
    Effect.map((results) => {
      const failed = results.filter((r) => Either.isLeft(r.result))
      const failedIds = new Set(failed.flatMap((r) => (r.messageId !== undefined ? [r.messageId] : [])))
      return {
        source: decoded.source,
        results,
        failed,
        failedMessageIds: decoded.messageIds.filter((id) => failedIds.has(id)),
      }
    }),
    // One span per batch, each record's `event-sync` span under it.
    Effect.tap((result) =>
      OperationLog.annotateSpan({
        source: result.source,
        records: result.results.length,
        failed: result.failed.length,
        outcome: result.failed.length === 0 ? "ok" : "partial",
      }),
    ),
    Effect.withSpan("S3EventSync.batch", { captureStackTrace: false }),
  )

/**
 * Decodes an event (direct S3, SQS or EventBridge; see {@link S3Event.decode})
 * and processes its records. Fails only when the event as a whole has no known shape.
 *
 * @example
 * ```ts
 * const result = yield* S3EventSync.processEvent(event)
 * const batchItemFailures = result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier }))
 * ```
 */
export const processEvent = (
  event: unknown,
  options: Options = {},
): Effect.Effect<BatchResult, S3Event.MalformedEventError, Requirements> =>
  Effect.flatMap(S3Event.decode(event), (decoded) => processDecoded(decoded, options))

/** What {@link consume} returns while it runs. */
export interface Consumer {
  /**
   * Completes once every event delivered so far has been processed and none
   * arrived for 50 ms since the call (an event follows its write by a moment).
   */
  readonly idle: Effect.Effect<void>
  /** Records that failed so far (there is no dead-letter queue in-process). */
  readonly failures: Effect.Effect<ReadonlyArray<RecordResult>>
}

/**
 * Runs event sync in-process on events from a push source: `subscribe` registers
 * a listener and returns its unsubscribe function (for example the local
 * stack's `Notifications.subscribe(stack, bucket, listener)`). Events are queued
 * without blocking the caller and processed in the background, at most
 * `concurrency` at a time, until the scope closes.
 *
 * @example
 * ```ts
 * const consumer = yield* S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))
 * // ... write to S3 with any client ...
 * yield* consumer.idle
 * ```
 */
export const consume = (
  subscribe: (listener: (event: unknown) => void) => () => void,
  options: Options = {},
): Effect.Effect<Consumer, never, Requirements | Scope.Scope> =>
  Effect.gen(function* () {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<unknown>(), Queue.shutdown)
    // The listener runs outside any fiber: it reads the same Clock through the service.
    const clock = yield* Effect.clock
    let pending = 0
    let lastArrival = clock.unsafeCurrentTimeMillis()
    const failures: Array<RecordResult> = []
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        subscribe((event) => {
          lastArrival = clock.unsafeCurrentTimeMillis()
          pending += 1
          if (!Queue.unsafeOffer(queue, event)) pending -= 1
        }),
      ),
      (unsubscribe) => Effect.sync(unsubscribe),
    )
    yield* Stream.fromQueue(queue).pipe(
      Stream.mapEffect(
        (event) =>
          processEvent(event, { ...options, concurrency: 1 }).pipe(
            Effect.tap((result) => Effect.sync(() => failures.push(...result.failed))),
            Effect.catchAll((error) =>
              Effect.logWarning("event-sync").pipe(
                Effect.annotateLogs({ operation: "event-sync", outcome: error._tag, error: error.message }),
              ),
            ),
            Effect.ensuring(Effect.sync(() => (pending -= 1))),
          ),
        { concurrency: options.concurrency ?? defaultConcurrency, unordered: true },
      ),
      Stream.runDrain,
      Effect.forkScoped,
    )
    // A push source may deliver an event a moment after the write that caused it
    // returned to its caller: idle also waits for a short quiet period.
    const quietMillis = 50
    const idle: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (since) => {
      const wait: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
        pending === 0 && now - Math.max(lastArrival, since) >= quietMillis
          ? Effect.void
          : Effect.zipRight(Effect.sleep("5 millis"), wait),
      )
      return wait
    })
    return { idle, failures: Effect.sync(() => [...failures]) }
  })

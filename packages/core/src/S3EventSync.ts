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
 * - the record has no usable sequencer (absent or not hex), "re-read S3": keep
 *   the sequencer stored, on condition that it did not move meanwhile.
 *
 * The cache read the write decides on (`DocumentCache.snapshot`) runs alongside
 * the S3 read; without a usable sequencer it runs first, since it is the guard.
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
 * One record's steps (guard, converge, meet an intent) are named functions in
 * `internal/syncRecord.ts`; this module re-exports its public names.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as CacheMetrics from "./CacheMetrics.js"
import {
  type Batch,
  defaultConcurrency,
  EventSyncError,
  type Options,
  type Outcome,
  prepare,
  type Requirements,
  syncPrepared,
} from "./internal/syncRecord.js"
import * as OperationLog from "./OperationLog.js"
import * as S3Event from "./S3Event.js"

export {
  defaultConcurrency,
  defaultTombstoneTtl,
  EventSyncError,
  type Options,
  type Outcome,
  type Requirements,
  syncRecord,
} from "./internal/syncRecord.js"

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

const processEntry = (entry: S3Event.Entry, batch: Batch): Effect.Effect<RecordResult> => {
  const where = whereOf(entry)
  const run: Effect.Effect<Outcome, EventSyncError | S3Event.MalformedEventError> =
    entry._tag === "Record"
      ? syncPrepared(batch, entry.record)
      : entry._tag === "TestEvent"
        ? OperationLog.logDebugLazily("event-sync", () => ({
            operation: "event-sync",
            outcome: "Skipped",
            reason: "TestEvent",
            ...where,
          })).pipe(Effect.as<Outcome>({ _tag: "Skipped", reason: "TestEvent" }))
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
  // The services and settings are read once for the batch, not per record.
  Effect.flatMap(prepare(options), (batch) =>
    Effect.forEach(decoded.entries, (entry) => processEntry(entry, batch), {
      concurrency: options.concurrency ?? defaultConcurrency,
    }),
  ).pipe(
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
    // `concurrency` workers take events off the queue until the scope closes (a plain
    // fiber per worker: no Stream here, so the Lambda's event path loads none).
    const handle = (event: unknown) =>
      processEvent(event, { ...options, concurrency: 1 }).pipe(
        Effect.tap((result) => Effect.sync(() => failures.push(...result.failed))),
        Effect.catchAll((error) =>
          Effect.logWarning("event-sync").pipe(
            Effect.annotateLogs({ operation: "event-sync", outcome: error._tag, error: error.message }),
          ),
        ),
        Effect.ensuring(Effect.sync(() => (pending -= 1))),
      )
    const worker = Effect.forever(Effect.flatMap(Queue.take(queue), handle))
    yield* Effect.forkScoped(
      Effect.replicateEffect(worker, options.concurrency ?? defaultConcurrency, {
        concurrency: "unbounded",
        discard: true,
      }),
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

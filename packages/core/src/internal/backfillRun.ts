/**
 * The steps of one `Backfill.run` over a listing, each named: `listObjects`
 * (the shard's keys, counted, with the total once the listing is exhausted),
 * `recordSettled` (what the batch comparison settled, without a fiber per key),
 * `recordOutcome` (one processed key), and the reporting steps `flushCheckpoint`
 * and `reportProgress` over `snapshot`. `Backfill.run` builds the {@link Run}
 * record once and streams the listing through them. The run's `Options` and
 * `Progress` are declared here (`Backfill` re-exports them), so this module does
 * not import `Backfill` back.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type * as DocumentStore from "../DocumentStore.js"
import * as Step from "./backfillStep.js"
import type * as Watermark from "./watermark.js"

/** What to backfill. Every filter is optional; all given filters must match. */
export interface Options {
  /** Indexing time at or after this instant (ISO-8601). */
  readonly from?: string
  /** Indexing time strictly before this instant (ISO-8601). */
  readonly to?: string
  /** Documents of any of these customers. */
  readonly customers?: ReadonlyArray<string>
  /** Documents of any of these kinds. */
  readonly kinds?: ReadonlyArray<string>
  /** How many documents are in flight at once (default 8). */
  readonly concurrency?: number
  /** Resume after this key (a checkpoint), in listing order. */
  readonly startAfter?: string
  /** Decide what would be written and write nothing. Defaults to `DOCKET_DRY_RUN`. */
  readonly dryRun?: boolean
  /**
   * Called whenever the checkpoint advances (at most every `checkpointEveryMs`) and once at the end.
   * A failure (the checkpoint file cannot be written) stops the run with a `CheckpointFailed`
   * {@link Step.BackfillError}: a run that cannot record where it is cannot be resumed.
   * It may fail with any error that has a message (every `Error`, a platform error);
   * the `CheckpointFailed` detail quotes it and keeps it as the cause.
   */
  readonly onCheckpoint?: (key: string) => Effect.Effect<void, CheckpointSinkError>
  /** Called with the counters at most every `progressEveryMs`, and once at the end. */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
  readonly progressEveryMs?: number
  readonly checkpointEveryMs?: number
  /** How many failed keys the summary keeps, with their error (default 20). */
  readonly maxFailuresReported?: number
  /** Only the keys of shard `index` of `count` (0-based; a stable hash of the key decides). */
  readonly shard?: Step.Shard
  /** The S3 side; default the bucket listing under the prefix (from `startAfter`). */
  readonly source?: {
    readonly kind: "listing" | "inventory"
    readonly objects: Stream.Stream<DocumentStore.ObjectInfo, unknown>
  }
  /** Listed keys compared with the cache per batch (default 100, BatchGetItem's limit). */
  readonly batchSize?: number
}

/** Counters of a run so far. */
export interface Progress {
  /** Objects listed (every key under the prefix, documents or not). */
  readonly listed: number
  /** Documents that matched the filters. */
  readonly matched: number
  /** Documents written to the cache (or that would be, in a dry run). */
  readonly written: number
  /** Documents the cache already held in exactly this version. */
  readonly unchanged: number
  /** Documents the cache holds in a newer version than S3 (left alone: run reconcile). */
  readonly newerInCache: number
  /** Object bodies read (only for documents whose ETag differs from the cache's). */
  readonly bodiesRead: number
  /** Objects listed in all (of this shard), once the listing is exhausted. */
  readonly total: number | undefined
  /** Objects processed (compared, written, skipped or failed). */
  readonly processed: number
  /** Objects processed per second so far. */
  readonly ratePerSecond: number
  /** Estimated time left, once the total is known. */
  readonly etaMs: number | undefined
  /** Keys that could not be processed (read, decode or write failed after retries). */
  readonly failed: number
  /** The checkpoint: resume after this key. */
  readonly checkpoint: Option.Option<string>
  readonly elapsedMs: number
}

/** Counters of a run so far. */
export interface Counters {
  listed: number
  matched: number
  written: number
  unchanged: number
  newerInCache: number
  failed: number
  bodiesRead: number
  processed: number
}

/** The settings, the step's context and the state of one run, built once by `Backfill.run`. */
export interface Run {
  readonly options: Options
  readonly step: Step.Context
  readonly started: number
  readonly batchSize: number
  readonly concurrency: number
  readonly maxFailures: number
  readonly counters: Counters
  readonly watermark: ReturnType<typeof Watermark.make>
  readonly failures: Array<Step.Failure>
  /** Objects listed in all, once the listing is exhausted. */
  total: number | undefined
  lastProgress: number
  lastCheckpoint: { readonly at: number; readonly key: string | undefined }
}

/** Fresh counters. */
export const counters = (): Counters => ({
  listed: 0,
  matched: 0,
  written: 0,
  unchanged: 0,
  newerInCache: 0,
  failed: 0,
  bodiesRead: 0,
  processed: 0,
})

/** The progress of the run at `now`. */
export const snapshot = (run: Run, now: number): Progress => {
  const { counters, total } = run
  const elapsedMs = now - run.started
  const ratePerSecond = elapsedMs > 0 ? (counters.processed * 1000) / elapsedMs : 0
  return {
    ...counters,
    total,
    ratePerSecond,
    etaMs:
      total === undefined
        ? undefined
        : ratePerSecond > 0
          ? Math.round(((total - counters.processed) * 1000) / ratePerSecond)
          : undefined,
    checkpoint: Option.orElse(run.watermark.checkpoint, () => Option.fromNullable(run.options.startAfter)),
    elapsedMs,
  }
}

/** What an `onCheckpoint` callback may fail with: anything that says what went wrong. */
export interface CheckpointSinkError {
  readonly message: string
}

/** Why the checkpoint after `key` could not be saved. */
const checkpointFailed = (key: string, cause: CheckpointSinkError) =>
  new Step.BackfillError({
    reason: "CheckpointFailed",
    detail: `Saving the checkpoint (resume after ${key}) failed: ${cause.message}`,
    cause,
  })

/** Hands the checkpoint to `onCheckpoint` when it moved: at most every `checkpointEveryMs`, or now when `force`. */
export const flushCheckpoint = (run: Run, force: boolean): Effect.Effect<void, Step.BackfillError> => {
  const onCheckpoint = run.options.onCheckpoint
  if (onCheckpoint === undefined) return Effect.void
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const last = run.lastCheckpoint
    const current = Option.getOrUndefined(run.watermark.checkpoint)
    if (current === undefined || current === last.key) return Effect.void
    if (!force && now - last.at < (run.options.checkpointEveryMs ?? 1000)) return Effect.void
    run.lastCheckpoint = { at: now, key: current }
    return Effect.mapError(onCheckpoint(current), (cause) => checkpointFailed(current, cause))
  })
}

/** Hands the counters to `onProgress`: at most every `progressEveryMs`, or now when `force`. */
export const reportProgress = (run: Run, force: boolean): Effect.Effect<void> => {
  const onProgress = run.options.onProgress
  if (onProgress === undefined) return Effect.void
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (!force && now - run.lastProgress < (run.options.progressEveryMs ?? 1000)) return Effect.void
    run.lastProgress = now
    return onProgress(snapshot(run, now))
  })
}

const reportBoth = (run: Run, force: boolean) =>
  Effect.zipRight(flushCheckpoint(run, force), reportProgress(run, force))

/** The end of a run: the last checkpoint and progress, whatever their interval. */
export const finish = (run: Run): Effect.Effect<void, Step.BackfillError> => reportBoth(run, true)

/**
 * The end of a run that failed or was interrupted (a finalizer, which cannot fail): the
 * last checkpoint and progress, a checkpoint that cannot be saved logged (the run's own
 * error, or its interruption, is what it ends with).
 */
export const finishAfterFailure = (run: Run): Effect.Effect<void> =>
  Effect.catchAll(finish(run), (error) =>
    Effect.logError("backfill.checkpoint").pipe(
      Effect.annotateLogs({ operation: "backfill.checkpoint", outcome: error.reason, error: error.message }),
    ),
  )

const logFailure = (key: string, failure: Step.Failure) =>
  Effect.logWarning("backfill.document").pipe(
    Effect.annotateLogs({ operation: "backfill.document", outcome: failure.tag, key, error: failure.message }),
  )

/** Counts one processed key and moves the watermark; a failure is kept (up to `maxFailuresReported`) and logged. */
export const recordOutcome = (
  run: Run,
  index: number,
  key: string,
  outcome: Step.Outcome,
): Effect.Effect<void, Step.BackfillError> => {
  const { counters } = run
  counters.processed += 1
  if (outcome === "written") {
    counters.matched += 1
    counters.written += 1
  } else if (outcome === "unchanged") {
    counters.matched += 1
    counters.unchanged += 1
  } else if (outcome === "newer") {
    counters.matched += 1
    counters.newerInCache += 1
  } else if (outcome !== "skipped") {
    counters.failed += 1
    if (run.failures.length < run.maxFailures) run.failures.push(outcome.failure)
    return Effect.zipRight(
      logFailure(key, outcome.failure),
      Effect.suspend(() => {
        run.watermark.complete(index, key, false)
        return reportBoth(run, false)
      }),
    )
  }
  run.watermark.complete(index, key, true)
  return reportBoth(run, false)
}

/** A listed object and its position in the listing. */
export type Indexed = Step.Listed & { readonly index: number }

/** Records what the comparison settled (unchanged, not a document) at once; returns the steps still to process. */
export const recordSettled = (
  run: Run,
  steps: ReadonlyArray<Step.Step<Indexed>>,
): Effect.Effect<ReadonlyArray<Step.Step<Indexed>>, Step.BackfillError> =>
  Effect.suspend(() => {
    const settled = steps.filter((s) => s._tag === "Done")
    for (const s of settled) {
      run.counters.processed += 1
      if (s.outcome === "unchanged") {
        run.counters.matched += 1
        run.counters.unchanged += 1
      }
      run.watermark.complete(s.object.index, s.object.key, true)
    }
    const rest = steps.filter((s) => s._tag === "Process")
    return settled.length === 0 ? Effect.succeed(rest) : Effect.as(reportBoth(run, false), rest)
  })

/**
 * The shard's keys of the listing, counted, with their position. The listing runs
 * ahead of the writes, so the total (and an ETA) is known early.
 */
export const listObjects = <E>(
  run: Run,
  objects: Stream.Stream<DocumentStore.ObjectInfo, E>,
): Stream.Stream<Indexed, E> => {
  const shard = run.options.shard
  return objects.pipe(
    Stream.filter((info) => shard === undefined || Step.inShard(shard, info.key)),
    // Counted per chunk: `Stream.tap` runs an effect per element and re-emits chunks of one.
    Stream.mapChunks((chunk) => {
      run.counters.listed += chunk.length
      return chunk
    }),
    Stream.concat(
      Stream.fromEffect(
        Effect.sync(() => {
          run.total = run.counters.listed
        }),
      ).pipe(Stream.drain),
    ),
    // Pages, not elements, are buffered: `Stream.buffer` queues each element (one
    // offer, take and chunk per document; 130 ms of a 1,000-key page in the re-run's timeline).
    Stream.bufferChunks({ capacity: 8 }),
    Stream.zipWithIndex,
    Stream.map(([info, index]): Indexed => ({ key: info.key, etag: info.etag, index })),
  )
}

/** What a worker of {@link settleAll} takes from its queue: a step, or the end of the steps. */
const end = Symbol("end")

/**
 * Settles the steps still to process (GetObject, decode, write), `run.concurrency` at a
 * time, and records each outcome. A fixed set of workers takes the steps from one bounded
 * queue (twice the workers): `Stream.mapEffect` with `unordered` forks a fiber and runs its
 * channel machinery per element, which cost a third of Docket's CPU per fresh document
 * over canned SDK answers (packages/bench/profiles.md). The first failure (a checkpoint
 * that cannot be saved, the listing) interrupts the workers and the producer alike.
 */
export const settleAll = <E>(
  run: Run,
  steps: Stream.Stream<ReadonlyArray<Step.Step<Indexed>>, E>,
): Effect.Effect<void, E | Step.BackfillError> =>
  Effect.flatMap(Queue.bounded<Step.Step<Indexed> | typeof end>(run.concurrency * 2), (queue) => {
    const worker: Effect.Effect<void, Step.BackfillError> = Effect.flatMap(Queue.take(queue), (s) =>
      s === end
        ? Effect.void
        : Effect.zipRight(
            Effect.flatMap(Step.settle(run.step, s), (o) => recordOutcome(run, s.object.index, s.object.key, o)),
            worker,
          ),
    )
    const produce = Effect.zipRight(
      Stream.runForEach(steps, (batch) => (batch.length === 0 ? Effect.void : Queue.offerAll(queue, batch))),
      Queue.offerAll(
        queue,
        Array.from({ length: run.concurrency }, () => end),
      ),
    )
    return Effect.all([produce, ...Array.from({ length: run.concurrency }, () => worker)], {
      concurrency: "unbounded",
      discard: true,
    }).pipe(Effect.ensuring(Queue.shutdown(queue)))
  })

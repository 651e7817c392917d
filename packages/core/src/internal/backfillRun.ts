/**
 * The steps of one `Backfill.run` over a listing, each named: `listObjects`
 * (the shard's keys, counted, with the total once the listing is exhausted),
 * `recordSettled` (what the batch comparison settled, without a fiber per key),
 * `recordOutcome` (one processed key), and the reporting steps `flushCheckpoint`
 * and `reportProgress` over `snapshot`. `Backfill.run` builds the {@link Run}
 * record once and streams the listing through them.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Options, Progress } from "../Backfill.js"
import type * as DocumentStore from "../DocumentStore.js"
import * as Step from "./backfillStep.js"
import type * as Watermark from "./watermark.js"

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

/** Hands the checkpoint to `onCheckpoint` when it moved: at most every `checkpointEveryMs`, or now when `force`. */
export const flushCheckpoint = (run: Run, force: boolean): Effect.Effect<void> => {
  const onCheckpoint = run.options.onCheckpoint
  if (onCheckpoint === undefined) return Effect.void
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const last = run.lastCheckpoint
    const current = Option.getOrUndefined(run.watermark.checkpoint)
    if (current === undefined || current === last.key) return Effect.void
    if (!force && now - last.at < (run.options.checkpointEveryMs ?? 1000)) return Effect.void
    run.lastCheckpoint = { at: now, key: current }
    return onCheckpoint(current)
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

/** The end of a run, interrupted or not: the last checkpoint and progress, whatever their interval. */
export const finish = (run: Run): Effect.Effect<void> => reportBoth(run, true)

const logFailure = (key: string, failure: Step.Failure) =>
  Effect.logWarning("backfill.document").pipe(
    Effect.annotateLogs({ operation: "backfill.document", outcome: failure.tag, key, error: failure.message }),
  )

/** Counts one processed key and moves the watermark; a failure is kept (up to `maxFailuresReported`) and logged. */
export const recordOutcome = (run: Run, index: number, key: string, outcome: Step.Outcome): Effect.Effect<void> => {
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
): Effect.Effect<ReadonlyArray<Step.Step<Indexed>>> =>
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

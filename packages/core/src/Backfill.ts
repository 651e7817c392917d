/**
 * Backfill: fill the cache from S3 (DESIGN section 6). Streams the bucket
 * listing (or an S3 Inventory), compares each listed ETag with the cache in
 * batches of 100 (one `fingerprints` call: a BatchGetItem), and reads and
 * writes only what differs: an unchanged re-run reads no object body and costs
 * one DynamoDB request per 100 documents plus the listing. Filters (kind, time
 * range, customer) decide from the cache's fingerprint for unchanged documents,
 * else from object metadata when the object carries it, else from the body.
 * The cache backend applies the shared rate limiter to every DynamoDB call, so
 * `--rps` bounds the whole run. `shard` splits a listing deterministically
 * across processes (a stable hash of the key).
 *
 * Resumable: the checkpoint is the last key, in listing order, such that it and
 * every key before it were processed successfully. With bounded concurrency keys
 * finish out of order; the checkpoint only moves past a key once all its
 * predecessors are done, so resuming after the checkpoint never skips a key.
 * Keys finished after the checkpoint are processed again on resume; the cache
 * reports them `unchanged` (writing the same version twice is a no-op), so
 * nothing is written twice.
 *
 * `run` builds one record of settings and counters and streams the listing
 * through the steps named in `internal/backfillRun.ts`; the per-object step
 * (`classify`, `processObject`, `settle`) is `internal/backfillStep.ts`, shared
 * with `processObjects` and the Lambda.
 *
 * @example
 * ```ts
 * import * as Backfill from "@docket/core/Backfill"
 * const summary = yield* Backfill.run({ concurrency: 8, customers: ["acme"] })
 * ```
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as DocketConfig from "./DocketConfig.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentKind from "./DocumentKind.js"
import * as DocumentStore from "./DocumentStore.js"
import type { Options, Progress } from "./internal/backfillRun.js"
import * as Run from "./internal/backfillRun.js"
import * as Step from "./internal/backfillStep.js"
import * as Bulk from "./internal/bulk.js"
import * as Watermark from "./internal/watermark.js"

export type { CheckpointSinkError, Options, Progress } from "./internal/backfillRun.js"

/** A key that failed, and why (`retryable`: trying again later may succeed). */
export type Failure = Step.Failure

/** The end of a run. */
export interface Summary extends Progress {
  readonly dryRun: boolean
  /** True when the listing was exhausted (false after an interruption). */
  readonly completed: boolean
  readonly failures: ReadonlyArray<Failure>
}

/** The backfill could not run at all (bad filters, the listing failed) or could not save its checkpoint. */
export const BackfillError = Step.BackfillError
export type BackfillError = Step.BackfillError
/** One of `count` deterministic parts of a listing. */
export type Shard = Step.Shard
/** Parses `I/N` (0 <= I < N). */
export const parseShard = Step.parseShard
/** Whether `key` belongs to `shard` (a stable hash of the key decides). */
export const inShard = Step.inShard
/** Validates and normalises the filters (time bounds to instants). */
export const validate = Step.validate

/**
 * Tracks which listing positions are done and yields the checkpoint: the key
 * of the highest position whose predecessors all succeeded.
 */
export const makeWatermark = Watermark.make

/**
 * Listed batches compared with the cache at once (BatchGetItems in flight): 16, by
 * measurement (docs/backfill-at-scale.md): an unchanged re-run waits on DynamoDB,
 * and 16 batches in flight ran 1.3x as many documents/s as 4 on DynamoDB Local
 * under load, at the same peak RSS over 100,000 objects (386 MB with 16, 390 MB
 * with 4). At most 1,600 keys in flight; the rate limiter bounds the requests.
 */
const compareConcurrency = 16

/**
 * Runs a backfill. Fails only when it cannot run (bad filters, listing failed);
 * per-document failures are counted in the summary.
 */
export const run = (
  options: Options = {},
): Effect.Effect<
  Summary,
  BackfillError,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocumentKind.DocumentKinds | DocketConfig.DocketConfig
> =>
  Effect.gen(function* () {
    const kinds = yield* DocumentKind.DocumentKinds
    const config = yield* DocketConfig.DocketConfig
    const range = yield* validate(options, kinds)
    const store = yield* DocumentStore.DocumentStore
    const dryRun = options.dryRun ?? config.dryRun
    const counters = Run.counters()
    const run: Run.Run = {
      options,
      step: {
        cache: yield* DocumentCache.DocumentCache,
        store,
        kinds,
        prefix: config.prefix,
        filters: filtersOf(options, range),
        dryRun,
        onBodyRead: () => {
          counters.bodiesRead += 1
        },
      },
      started: yield* Clock.currentTimeMillis,
      batchSize: Math.max(1, Math.min(options.batchSize ?? Bulk.BatchGetLimit, 1000)),
      concurrency: Math.max(1, options.concurrency ?? 8),
      maxFailures: options.maxFailuresReported ?? 20,
      counters,
      watermark: Watermark.make(),
      failures: [],
      total: undefined,
      lastProgress: 0,
      lastCheckpoint: { at: 0, key: options.startAfter },
    }
    const objects: Stream.Stream<DocumentStore.ObjectInfo, unknown> =
      options.source?.objects ?? store.list(options.startAfter !== undefined ? { startAfter: options.startAfter } : {})
    const toProcess = Run.listObjects(run, objects).pipe(
      Stream.grouped(run.batchSize),
      // Batches compared at once: DynamoDB answers each in tens of ms, the listing a page of 1,000 in one.
      Stream.mapEffect((batch) => Step.classify(run.step, Chunk.toReadonlyArray(batch)), {
        concurrency: compareConcurrency,
      }),
      Stream.mapEffect((steps) => Run.recordSettled(run, steps)),
    )
    yield* Run.settleAll(run, toProcess).pipe(
      Effect.mapError((cause) => (cause instanceof Step.BackfillError ? cause : listingFailed(options, cause))),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Run.finishAfterFailure(run))),
    )
    // Outside a finalizer, so that a checkpoint that cannot be saved fails the run.
    yield* Run.finish(run)
    const now = yield* Clock.currentTimeMillis
    return { ...Run.snapshot(run, now), dryRun, completed: true, failures: run.failures }
  }).pipe(Effect.withSpan("Backfill.run"))

const listingFailed = (options: Options, cause: unknown) => {
  const text = (cause as { message?: unknown })?.message
  return new BackfillError({
    reason: "ListingFailed",
    detail: `Listing ${options.source?.kind === "inventory" ? "the inventory" : "the bucket"} failed: ${typeof text === "string" ? text : String(cause)}`,
    cause,
  })
}

const filtersOf = (options: Options, range: { from?: string; to?: string }): Step.Filters => ({
  ...range,
  ...(options.kinds !== undefined && options.kinds.length > 0 ? { kinds: new Set(options.kinds) } : {}),
  ...(options.customers !== undefined && options.customers.length > 0 ? { customers: new Set(options.customers) } : {}),
})

/** What {@link processObjects} did with one object. */
export interface ObjectResult {
  readonly key: string
  readonly outcome: "skipped" | "written" | "unchanged" | "newer" | "failed"
  readonly failure: Failure | undefined
}

/**
 * The backfill step over a given set of objects (one S3 Batch Operations task,
 * one Step Functions item batch): compared with the cache in batches of 100,
 * read and written only where they differ. `etag` is optional (Batch
 * Operations tasks carry none): an object the cache holds is then compared by
 * a HEAD, still without reading its body. Results are in input order.
 */
export const processObjects = (
  objects: ReadonlyArray<{ readonly key: string; readonly etag?: string | undefined }>,
  options: Pick<Options, "from" | "to" | "customers" | "kinds" | "dryRun" | "concurrency"> = {},
): Effect.Effect<
  ReadonlyArray<ObjectResult>,
  BackfillError,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocumentKind.DocumentKinds | DocketConfig.DocketConfig
> =>
  Effect.gen(function* () {
    const kinds = yield* DocumentKind.DocumentKinds
    const config = yield* DocketConfig.DocketConfig
    const range = yield* validate(options, kinds)
    const step: Step.Context = {
      cache: yield* DocumentCache.DocumentCache,
      store: yield* DocumentStore.DocumentStore,
      kinds,
      prefix: config.prefix,
      filters: filtersOf(options, range),
      dryRun: options.dryRun ?? config.dryRun,
      onBodyRead: () => {},
    }
    const listed = objects.map((o) => ({ key: o.key, etag: o.etag }))
    const steps = (yield* Effect.forEach(Bulk.chunksOf(listed, Bulk.BatchGetLimit), (batch) =>
      Step.classify(step, batch),
    )).flat()
    return yield* Effect.forEach(
      steps,
      (s) =>
        Effect.map(
          Step.settle(step, s),
          (outcome): ObjectResult =>
            typeof outcome === "string"
              ? { key: s.object.key, outcome, failure: undefined }
              : { key: s.object.key, outcome: "failed", failure: outcome.failure },
        ),
      { concurrency: Math.max(1, options.concurrency ?? 8) },
    )
  }).pipe(Effect.withSpan("Backfill.processObjects"))

/** Whether a summary should make the command exit non-zero. */
export const failed = (summary: Summary): boolean => summary.failed > 0

/** The filters as a human-readable line, e.g. for the start of a run. */
export const describe = (options: Options): string => {
  const parts: Array<string> = []
  if (options.from !== undefined) parts.push(`from ${options.from}`)
  if (options.to !== undefined) parts.push(`to ${options.to}`)
  if (options.kinds !== undefined && options.kinds.length > 0) parts.push(`kind ${options.kinds.join("|")}`)
  if (options.customers !== undefined && options.customers.length > 0)
    parts.push(`customer ${options.customers.join("|")}`)
  return parts.length === 0 ? "every document" : parts.join(", ")
}

/**
 * Backfill: fill the cache from S3 (DESIGN section 6). Streams the bucket
 * listing, filters by kind, time range and customer (from object metadata when
 * the object carries it, else from the body), and writes each matching document
 * to the cache with bounded concurrency. The cache backend applies the shared
 * rate limiter to every DynamoDB call, so `--rps` bounds the whole run.
 *
 * Resumable: the checkpoint is the last key, in listing order, such that it and
 * every key before it were processed successfully. With bounded concurrency keys
 * finish out of order; the checkpoint only moves past a key once all its
 * predecessors are done, so resuming after the checkpoint never skips a key.
 * Keys finished after the checkpoint are processed again on resume; the cache
 * reports them `unchanged` (writing the same version twice is a no-op), so
 * nothing is written twice.
 *
 * @example
 * ```ts
 * import * as Backfill from "@docket/core/Backfill"
 * const summary = yield* Backfill.run({ concurrency: 8, customers: ["acme"] })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as DocketConfig from "./DocketConfig.js"
import * as Document from "./Document.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentKind from "./DocumentKind.js"
import * as DocumentStore from "./DocumentStore.js"
import * as S3Key from "./S3Key.js"

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
  /** Called whenever the checkpoint advances (at most every `checkpointEveryMs`) and once at the end. */
  readonly onCheckpoint?: (key: string) => Effect.Effect<void>
  /** Called with the counters at most every `progressEveryMs`, and once at the end. */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
  readonly progressEveryMs?: number
  readonly checkpointEveryMs?: number
  /** How many failed keys the summary keeps, with their error (default 20). */
  readonly maxFailuresReported?: number
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
  /** Keys that could not be processed (read, decode or write failed after retries). */
  readonly failed: number
  /** The checkpoint: resume after this key. */
  readonly checkpoint: Option.Option<string>
  readonly elapsedMs: number
}

/** A key that failed, and why. */
export interface Failure {
  readonly key: string
  readonly tag: string
  readonly message: string
}

/** The end of a run. */
export interface Summary extends Progress {
  readonly dryRun: boolean
  /** True when the listing was exhausted (false after an interruption). */
  readonly completed: boolean
  readonly failures: ReadonlyArray<Failure>
}

/** The backfill could not run at all: bad filters, or the listing itself failed. */
export class BackfillError extends Data.TaggedError("BackfillError")<{
  readonly reason: "BadRange" | "BadFilter" | "ListingFailed"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return this.detail
  }
}

type Outcome = "skipped" | "written" | "unchanged" | "newer" | { readonly failure: Failure }

interface Counters {
  listed: number
  matched: number
  written: number
  unchanged: number
  newerInCache: number
  failed: number
}

/** Validates and normalises the filters (time bounds to instants). */
export const validate = (
  options: Options,
  kinds: DocumentKind.Registry,
): Effect.Effect<{ from?: string; to?: string }, BackfillError> =>
  Effect.gen(function* () {
    const instant = (name: string, value: string | undefined) => {
      if (value === undefined) return Effect.succeed(undefined)
      return Option.match(Document.parseInstant(value), {
        onNone: () =>
          Effect.fail(
            new BackfillError({
              reason: "BadRange",
              detail: `--${name} ${JSON.stringify(value)} is not an ISO-8601 date (2026-11-01) or date-time with a zone (2026-11-01T09:00:00Z)`,
            }),
          ),
        onSome: (instant) => Effect.succeed(instant),
      })
    }
    const from = yield* instant("from", options.from)
    const to = yield* instant("to", options.to)
    if (from !== undefined && to !== undefined && from >= to) {
      return yield* new BackfillError({
        reason: "BadRange",
        detail: `--from ${options.from} must be before --to ${options.to} (the range is half-open)`,
      })
    }
    for (const kind of options.kinds ?? []) {
      if (kinds.get(kind) === undefined) {
        return yield* new BackfillError({
          reason: "BadFilter",
          detail: `Unknown kind ${JSON.stringify(kind)}: expected one of ${kinds.kinds.map((k) => k.name).join(", ")}`,
        })
      }
    }
    for (const code of options.customers ?? []) {
      if (!/^[a-z0-9][a-z0-9-]{1,31}$/.test(code)) {
        return yield* new BackfillError({
          reason: "BadFilter",
          detail: `Customer code ${JSON.stringify(code)} does not match [a-z0-9][a-z0-9-]{1,31}`,
        })
      }
    }
    return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }
  })

/**
 * Tracks which listing positions are done and yields the checkpoint: the key
 * of the highest position whose predecessors all succeeded.
 */
export const makeWatermark = () => {
  const pending = new Map<number, { key: string; ok: boolean }>()
  let next = 0
  let blocked = false
  let checkpoint: Option.Option<string> = Option.none()
  return {
    /** Records that position `index` (holding `key`) finished; returns the checkpoint. */
    complete: (index: number, key: string, ok: boolean): Option.Option<string> => {
      pending.set(index, { key, ok })
      while (!blocked) {
        const done = pending.get(next)
        if (done === undefined) break
        if (!done.ok) {
          blocked = true
          break
        }
        pending.delete(next)
        checkpoint = Option.some(done.key)
        next += 1
      }
      return checkpoint
    },
    get checkpoint() {
      return checkpoint
    },
  }
}

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
    const cache = yield* DocumentCache.DocumentCache
    const store = yield* DocumentStore.DocumentStore
    const kinds = yield* DocumentKind.DocumentKinds
    const config = yield* DocketConfig.DocketConfig
    const range = yield* validate(options, kinds)
    const dryRun = options.dryRun ?? config.dryRun
    const kindFilter = options.kinds !== undefined && options.kinds.length > 0 ? new Set(options.kinds) : undefined
    const customerFilter =
      options.customers !== undefined && options.customers.length > 0 ? new Set(options.customers) : undefined
    const needsMetadata = range.from !== undefined || range.to !== undefined || customerFilter !== undefined
    const maxFailures = options.maxFailuresReported ?? 20

    const started = yield* Clock.currentTimeMillis
    const counters: Counters = { listed: 0, matched: 0, written: 0, unchanged: 0, newerInCache: 0, failed: 0 }
    const failures: Array<Failure> = []
    const watermark = makeWatermark()
    const lastProgress = yield* Ref.make(0)
    const lastCheckpoint = yield* Ref.make<{ at: number; key: string | undefined }>({
      at: 0,
      key: options.startAfter,
    })

    const snapshot = (now: number): Progress => ({
      ...counters,
      checkpoint: Option.orElse(watermark.checkpoint, () => Option.fromNullable(options.startAfter)),
      elapsedMs: now - started,
    })

    const flushCheckpoint = (force: boolean) =>
      Effect.gen(function* () {
        if (options.onCheckpoint === undefined) return
        const now = yield* Clock.currentTimeMillis
        const last = yield* Ref.get(lastCheckpoint)
        const current = Option.getOrUndefined(watermark.checkpoint)
        if (current === undefined || current === last.key) return
        if (!force && now - last.at < (options.checkpointEveryMs ?? 1000)) return
        yield* Ref.set(lastCheckpoint, { at: now, key: current })
        yield* options.onCheckpoint(current)
      })

    const report = (force: boolean) =>
      Effect.gen(function* () {
        if (options.onProgress === undefined) return
        const now = yield* Clock.currentTimeMillis
        const last = yield* Ref.get(lastProgress)
        if (!force && now - last < (options.progressEveryMs ?? 1000)) return
        yield* Ref.set(lastProgress, now)
        yield* options.onProgress(snapshot(now))
      })

    const matches = (kind: string, time: string, customers: ReadonlyArray<string>): boolean =>
      (kindFilter === undefined || kindFilter.has(kind)) &&
      (range.from === undefined || time >= range.from) &&
      (range.to === undefined || time < range.to) &&
      (customerFilter === undefined || customers.some((c) => customerFilter.has(c)))

    const fail = (key: string, error: unknown): Outcome => {
      const e = error as { _tag?: unknown; message?: unknown }
      return {
        failure: {
          key,
          tag: typeof e?._tag === "string" ? e._tag : "Error",
          message: typeof e?.message === "string" ? e.message : String(error),
        },
      }
    }

    const processKey = (info: DocumentStore.ObjectInfo): Effect.Effect<Outcome> =>
      Effect.gen(function* () {
        const parsed = S3Key.parse(config.prefix, info.key, kinds)
        if (Option.isNone(parsed)) return "skipped" as const
        const { kind, id, customer } = parsed.value
        if (kindFilter !== undefined && !kindFilter.has(kind)) return "skipped" as const
        if (needsMetadata) {
          // Decide from the object's metadata when it carries Docket's; else the body decides below.
          const head = yield* store.head(info.key)
          if (Option.isNone(head)) return "skipped" as const
          const metadata = head.value.metadata
          if (Option.isSome(metadata)) {
            const customers =
              customer === undefined ? metadata.value.customers : [...metadata.value.customers, customer]
            if (!matches(kind, metadata.value.time, customers)) return "skipped" as const
          }
        }
        const stored = yield* store.getKey(info.key)
        if (Option.isNone(stored)) return "skipped" as const // deleted since the listing
        const document = stored.value.document
        if (document.kind !== kind || document.id !== id) {
          return fail(
            info.key,
            new DocumentKind.DocumentDecodeError({
              reason: "KindMismatch",
              source: info.key,
              detail: `the key names ${kind}/${id} but the body is ${document.kind}/${document.id}`,
            }),
          )
        }
        const summary = kinds.summarize(document)
        const customers = customer === undefined ? summary.customers : [...summary.customers, customer]
        if (!matches(kind, summary.time, customers)) return "skipped" as const
        if (dryRun) {
          const current = yield* cache.get(kind, id, { includeExpired: true })
          if (
            Option.isSome(current) &&
            current.value._tag === "Cached" &&
            current.value.summary.version >= document.version
          ) {
            return current.value.summary.version === document.version ? ("unchanged" as const) : ("newer" as const)
          }
          yield* Effect.logInfo("backfill.put (dry run)").pipe(
            Effect.annotateLogs({
              operation: "backfill.put",
              outcome: "dry-run",
              key: info.key,
              version: document.version,
            }),
          )
          return "written" as const
        }
        const outcome = yield* cache.put(document, { s3Key: info.key, etag: stored.value.etag })
        return outcome._tag === "Written" ? ("written" as const) : ("unchanged" as const)
      }).pipe(
        Effect.catchTag("StaleWriteError", () => Effect.succeed<Outcome>("newer")),
        Effect.catchAll((error) => Effect.succeed(fail(info.key, error))),
      )

    const record = (index: number, key: string, outcome: Outcome) =>
      Effect.gen(function* () {
        let ok = true
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
          ok = false
          counters.failed += 1
          if (failures.length < maxFailures) failures.push(outcome.failure)
          yield* Effect.logWarning("backfill.document").pipe(
            Effect.annotateLogs({
              operation: "backfill.document",
              outcome: outcome.failure.tag,
              key,
              error: outcome.failure.message,
            }),
          )
        }
        watermark.complete(index, key, ok)
        yield* flushCheckpoint(false)
        yield* report(false)
      })

    const listing = store.list(options.startAfter !== undefined ? { startAfter: options.startAfter } : {}).pipe(
      Stream.tap(() =>
        Effect.sync(() => {
          counters.listed += 1
        }),
      ),
      Stream.zipWithIndex,
      Stream.mapEffect(([info, index]) => Effect.flatMap(processKey(info), (o) => record(index, info.key, o)), {
        concurrency: Math.max(1, options.concurrency ?? 8),
        unordered: true,
      }),
      Stream.runDrain,
      Effect.mapError(
        (cause) =>
          new BackfillError({ reason: "ListingFailed", detail: `Listing the bucket failed: ${cause.message}`, cause }),
      ),
    )

    const finish = Effect.gen(function* () {
      yield* flushCheckpoint(true)
      yield* report(true)
    })

    yield* listing.pipe(Effect.ensuring(finish))
    const now = yield* Clock.currentTimeMillis
    return { ...snapshot(now), dryRun, completed: true, failures }
  }).pipe(Effect.withSpan("Backfill.run"))

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

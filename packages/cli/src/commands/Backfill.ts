/**
 * `docket backfill`: fill the cache from S3 under the rate limit, with a
 * checkpoint file (through the platform's `FileSystem`) so that an interrupted
 * run resumes with `--resume`. Filters are validated by core (`Backfill.validate`).
 * Imported when the command (declared in `Cli.ts`) runs.
 *
 * @since 0.1.0
 */
import { dirname, join } from "node:path"
import * as Backfill from "@docket/core/Backfill"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../CliError.js"
import * as GlobalOptions from "../GlobalOptions.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import * as Services from "../Services.js"
import * as Sources from "../Sources.js"

/** Parsed options of `docket backfill`. */
interface BackfillOptions {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly customer: ReadonlyArray<string>
  readonly kind: ReadonlyArray<string>
  readonly concurrency: number
  readonly resume: boolean
  readonly checkpoint: Option.Option<string>
  readonly shard: Option.Option<string>
  readonly manifest: Option.Option<string>
}

/** What the checkpoint file holds. */
interface CheckpointFile {
  readonly table: string
  readonly bucket: string
  readonly prefix: string
  readonly filters: string
  readonly startAfter: string
  readonly updatedAt: string
}

/** The default checkpoint file of a table and bucket (and shard). */
const defaultCheckpoint = (config: DocketConfig.Settings, shard: Backfill.Shard | undefined) =>
  join(
    ".docket",
    `backfill-${config.table}-${config.bucket}${shard === undefined ? "" : `-shard-${shard.index}-of-${shard.count}`}.json`.replace(
      /[^A-Za-z0-9._-]/g,
      "_",
    ),
  )

/** The key to resume after, from the checkpoint file; fails when it belongs to another table or bucket. */
const readCheckpoint = (file: string, config: DocketConfig.Settings, filters: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(Effect.option)
    const saved = Option.flatMap(text, (t) => Option.liftThrowable(() => JSON.parse(t) as CheckpointFile)())
    if (Option.isNone(saved)) {
      yield* Output.note(`no checkpoint at ${file}: starting from the beginning`)
      return undefined
    }
    const checkpoint = saved.value
    if (
      checkpoint.table !== config.table ||
      checkpoint.bucket !== config.bucket ||
      checkpoint.prefix !== config.prefix
    ) {
      return yield* new CliError({
        reason: "BadInput",
        message: `--resume: ${file} is a checkpoint of ${checkpoint.table}/${checkpoint.bucket}, not ${config.table}/${config.bucket}`,
      })
    }
    yield* Output.note(`resuming after ${checkpoint.startAfter} (checkpoint ${file}, saved ${checkpoint.updatedAt})`)
    if (checkpoint.filters !== filters)
      yield* Output.note(`note: the checkpoint was taken with filters: ${checkpoint.filters}`)
    return checkpoint.startAfter
  })

/** Saves the checkpoint (not in a dry run); a file that cannot be written stops the run. */
const writeCheckpoint =
  (fs: FileSystem.FileSystem, file: string, config: DocketConfig.Settings, filters: string) => (key: string) =>
    Effect.gen(function* () {
      if (config.dryRun) return
      yield* fs.makeDirectory(dirname(file), { recursive: true })
      const content: CheckpointFile = {
        table: config.table,
        bucket: config.bucket,
        prefix: config.prefix,
        filters,
        startAfter: key,
        updatedAt: new Date().toISOString(),
      }
      yield* fs.writeFileString(file, `${JSON.stringify(content, null, 2)}\n`)
    }).pipe(
      // Backfill stops with a CheckpointFailed error (exit 1) that carries this message.
      Effect.mapError(
        (error) =>
          new CliError({
            reason: "Failure",
            message: `cannot write the checkpoint file ${file} (${error.message}); choose another with --checkpoint`,
            cause: error,
          }),
      ),
    )

/** Backfill's progress in the shared renderer: objects processed of the listing's total, once known. */
const reportProgress = (progress: Progress.Progress) => (p: Backfill.Progress) =>
  progress.update({
    done: p.processed,
    total: p.total,
    extra: {
      written: p.written,
      unchanged: p.unchanged,
      ...(p.newerInCache > 0 ? { newer: p.newerInCache } : {}),
      failed: p.failed,
    },
    detail: {
      listed: p.listed,
      matched: p.matched,
      newerInCache: p.newerInCache,
      bodiesRead: p.bodiesRead,
      checkpoint: Option.getOrNull(p.checkpoint),
    },
  })

const printSummary = (format: GlobalOptions.Format, summary: Backfill.Summary, dryRun: boolean) =>
  Effect.gen(function* () {
    const counts = {
      listed: summary.listed,
      matched: summary.matched,
      written: summary.written,
      unchanged: summary.unchanged,
      newerInCache: summary.newerInCache,
      failed: summary.failed,
    }
    if (format !== "table") {
      return yield* Output.line(
        JSON.stringify({
          ...counts,
          dryRun: summary.dryRun,
          elapsedMs: summary.elapsedMs,
          checkpoint: Option.getOrNull(summary.checkpoint),
          failures: summary.failures,
        }),
      )
    }
    yield* Output.line(
      Output.table(
        ["LISTED", "MATCHED", "WRITTEN", "UNCHANGED", "NEWER-IN-CACHE", "FAILED", "TIME"],
        [[...Object.values(counts).map(String), Output.ms(summary.elapsedMs)]],
      ),
    )
    if (dryRun) yield* Output.line("dry run: nothing was written (WRITTEN counts what would be)")
    for (const f of summary.failures) yield* Output.note(`failed: ${f.key}: ${f.message}`)
    if (summary.failed > 0)
      yield* Output.note(`the checkpoint stays before the first failure: fix it and run with --resume`)
  })

/** `docket backfill` */
const runBackfill = (o: BackfillOptions) =>
  Effect.gen(function* () {
    const { format } = yield* GlobalOptions.root
    const config = yield* DocketConfig.DocketConfig
    if (o.concurrency < 1 || o.concurrency > 256) {
      return yield* new CliError({ reason: "BadInput", message: `--concurrency ${o.concurrency} must be 1-256` })
    }
    const shard = Option.isSome(o.shard) ? yield* Backfill.parseShard(o.shard.value) : undefined
    if (Option.isSome(o.manifest) && o.resume) {
      return yield* new CliError({
        reason: "BadInput",
        message:
          "--resume follows the listing's order, which an inventory does not have: run the manifest again (unchanged documents cost one BatchGetItem per 100)",
      })
    }
    const source = yield* Sources.fromManifest(o.manifest)
    const given: Backfill.Options = {
      ...(Option.isSome(o.from) ? { from: o.from.value } : {}),
      ...(Option.isSome(o.to) ? { to: o.to.value } : {}),
      customers: o.customer,
      kinds: o.kind,
      concurrency: o.concurrency,
      dryRun: config.dryRun,
      ...(shard !== undefined ? { shard } : {}),
    }
    // Normalised bounds, so that a checkpoint's filters compare equal however the run spelled them.
    const bounds = yield* Backfill.validate(given, yield* DocumentKind.DocumentKinds)
    const options: Backfill.Options = { ...given, ...bounds }
    const filters = Backfill.describe(options)
    const file = Option.getOrElse(o.checkpoint, () => defaultCheckpoint(config, shard))
    const startAfter = o.resume ? yield* readCheckpoint(file, config, filters) : undefined
    const tty = format === "table" && process.stderr.isTTY === true
    // The core reports every 200 ms on a terminal, every 2 s otherwise: the renderer draws each report.
    const progress = yield* Progress.make({ label: "backfill", format, everyMs: 0 })
    yield* Output.note(
      `backfill ${config.bucket}/${config.prefix} -> ${config.table}: ${filters}${config.dryRun ? " (dry run)" : ""}`,
    )
    const summary = yield* Backfill.run({
      ...options,
      ...(startAfter !== undefined ? { startAfter } : {}),
      ...(source !== undefined ? { source } : {}),
      onCheckpoint: writeCheckpoint(yield* FileSystem.FileSystem, file, config, filters),
      onProgress: reportProgress(progress),
      progressEveryMs: tty ? 200 : 2000,
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.zipRight(
          progress.finish,
          Output.note(`interrupted: the checkpoint is in ${file}; run the same command with --resume to continue`),
        ),
      ),
    )
    yield* progress.finish
    if (summary.failed === 0 && !config.dryRun) {
      yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.remove(file, { force: true })).pipe(Effect.ignore)
    }
    yield* printSummary(format, summary, config.dryRun)
    if (summary.failed > 0) {
      return yield* new CliError({
        reason: "Failure",
        message: `${summary.failed} of ${summary.matched + summary.failed} documents failed`,
      })
    }
  })

/** `docket backfill` (declared in `Cli.ts`). */
export const backfill = (o: BackfillOptions) => runBackfill(o).pipe(Services.provide("backfill"))

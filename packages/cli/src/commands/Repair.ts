/**
 * The repair commands: `docket reconcile [--fix]` compares the cache with S3
 * and, with `--fix`, repairs it from S3 (exit 0 clean or all fixed, 3 drift
 * found, 1 failure); `docket heal` resolves abandoned write intents. Imported
 * when one of them (declared in `Cli.ts`) runs.
 *
 * @since 0.1.0
 */

import * as DocketConfig from "@docket/core/DocketConfig"
import * as Heal from "@docket/core/Heal"
import * as Reconcile from "@docket/core/Reconcile"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../CliError.js"
import * as GlobalOptions from "../GlobalOptions.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import * as Services from "../Services.js"
import * as Sources from "../Sources.js"

const repairCell = (d: Reconcile.Drift): string =>
  d.repair === undefined ? "-" : d.repair.outcome === "fixed" ? "fixed" : `failed: ${d.repair.error}`

const printTable = (report: Reconcile.Report, fix: boolean, dryRun: boolean) =>
  Effect.gen(function* () {
    yield* Output.line(
      `checked ${report.documents} documents (${report.objects} objects) against ${report.cacheEntries} cache entries (Scan, ${report.segments} segments) in ${Output.ms(report.durationMs)}: ${report.compared} ETags compared, ${report.bodiesRead} bodies read`,
    )
    yield* Output.line(Reconcile.driftTypes.map((t) => `${t} ${report.counts[t]}`).join("  "))
    if (report.drift.length > 0) {
      yield* Output.line("")
      yield* Output.line(
        Output.table(
          ["DRIFT", "KIND", "ID", "DETAIL", ...(report.fix ? ["REPAIR"] : [])],
          report.drift.map((d) => [d.type, d.kind, d.id, d.detail, ...(report.fix ? [repairCell(d)] : [])]),
        ),
      )
    }
    if (fix && dryRun) yield* Output.line("dry run: nothing was repaired")
  })

const printReport = (format: GlobalOptions.Format, report: Reconcile.Report, fix: boolean, dryRun: boolean) =>
  format === "json"
    ? Output.line(JSON.stringify(report))
    : format === "ndjson"
      ? Effect.forEach(report.drift, (d) => Output.line(JSON.stringify(d)), { discard: true })
      : printTable(report, fix, dryRun)

/** Options of `docket reconcile`. */
interface ReconcileOptions {
  readonly fix: boolean
  readonly concurrency: number
  readonly segments: Option.Option<number>
  readonly manifest: Option.Option<string>
}

/** `docket reconcile [--fix]` */
const runReconcile = (o: ReconcileOptions) =>
  Effect.gen(function* () {
    const { format } = yield* GlobalOptions.root
    const config = yield* DocketConfig.DocketConfig
    const segments = Option.getOrElse(o.segments, () => Reconcile.defaultSegments)
    if (segments < 1 || segments > 1000) {
      return yield* new CliError({ reason: "BadInput", message: `--segments ${segments} must be 1-1000` })
    }
    const source = yield* Sources.fromManifest(o.manifest)
    // Entries read (listing and Scan), then joined: the total is known once both sides are read.
    const progress = yield* Progress.make({ label: "reconcile", format, everyMs: 0 })
    const tty = format === "table" && process.stderr.isTTY === true
    const report = yield* Reconcile.run({
      fix: o.fix,
      concurrency: o.concurrency,
      segments,
      ...(source !== undefined ? { source } : {}),
      progressEveryMs: tty ? 200 : 2000,
      onProgress: (p) =>
        progress.update({
          done: p.done,
          total: p.total,
          extra: { phase: p.phase, drift: p.drift },
          detail: { objects: p.objects, cacheEntries: p.cacheEntries, bodiesRead: p.bodiesRead },
        }),
    }).pipe(Effect.onInterrupt(() => progress.finish))
    yield* progress.finish
    yield* printReport(format, report, o.fix, config.dryRun)
    if (report.fixFailed > 0) {
      return yield* new CliError({ reason: "Failure", message: `${report.fixFailed} repairs failed` })
    }
    if (Reconcile.hasDrift(report) && !(report.fix && Reconcile.allFixed(report))) {
      return yield* new CliError({
        reason: "Drift",
        message: `drift found: ${Reconcile.driftTypes.reduce((n, t) => n + report.counts[t], 0)} documents (run with --fix to repair from S3)`,
      })
    }
  })

/** `docket reconcile [--fix]` (declared in `Cli.ts`). */
export const reconcile = (o: ReconcileOptions) => runReconcile(o).pipe(Services.provide("reconcile"))

/**
 * `docket heal`: resolves every abandoned write intent (lease expired) from the
 * sparse intents index: rolled forward when S3 holds the intent's ETag, else
 * dropped. Exit 1 when any resolution failed.
 */
const runHeal = Effect.gen(function* () {
  const { format } = yield* GlobalOptions.root
  // The sweep counts the expired intents in the sparse index first, so progress has a total and an ETA.
  const progress = yield* Progress.make({ label: "heal", format, everyMs: 2000 })
  const report = yield* Heal.sweep({
    onProgress: (r) =>
      progress.update({
        done: r.found,
        total: r.total,
        extra: { rolledForward: r.rolledForward, dropped: r.dropped, gone: r.gone, failed: r.failed },
      }),
  }).pipe(Effect.onInterrupt(() => progress.finish))
  yield* progress.finish
  if (format === "table") {
    yield* Output.line(
      Output.table(
        ["FOUND", "ROLLED FORWARD", "DROPPED", "GONE", "FAILED"],
        [[report.found, report.rolledForward, report.dropped, report.gone, report.failed].map(String)],
      ),
    )
  } else {
    yield* Output.line(JSON.stringify(report))
  }
  if (report.failed > 0) {
    return yield* new CliError({
      reason: "Failure",
      message: `${report.failed} of ${report.found} expired intents could not be resolved (logged; run again)`,
    })
  }
})

/** `docket heal` (declared in `Cli.ts`). */
export const heal = runHeal.pipe(Services.provide("heal"))

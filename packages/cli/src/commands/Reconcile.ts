/**
 * `docket reconcile [--fix]`: compare the cache with S3 and, with `--fix`,
 * repair it from S3. Exit 0 clean (or all fixed), 3 drift found, 1 failure.
 *
 * @since 0.1.0
 */

import * as DocketConfig from "@docket/core/DocketConfig"
import * as Reconcile from "@docket/core/Reconcile"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { CliError } from "../CliError.js"
import * as GlobalOptions from "../GlobalOptions.js"
import * as Output from "../Output.js"
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

/** `docket reconcile [--fix]` */
const runReconcile = (o: {
  readonly fix: boolean
  readonly concurrency: number
  readonly segments: number
  readonly manifest: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { format } = yield* GlobalOptions.root
    const config = yield* DocketConfig.DocketConfig
    if (o.segments < 1 || o.segments > 1000) {
      return yield* new CliError({ reason: "BadInput", message: `--segments ${o.segments} must be 1-1000` })
    }
    const source = yield* Sources.fromManifest(o.manifest)
    const report = yield* Reconcile.run({
      fix: o.fix,
      concurrency: o.concurrency,
      segments: o.segments,
      ...(source !== undefined ? { source } : {}),
    })
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

/** `docket reconcile [--fix]` */
export const reconcile = Command.make(
  "reconcile",
  {
    fix: Options.boolean("fix").pipe(Options.withDescription("Repair the cache from S3")),
    concurrency: Options.integer("concurrency").pipe(Options.withDefault(8)),
    manifest: Options.text("manifest").pipe(
      Options.optional,
      Options.withDescription("Read the S3 side from an S3 Inventory: s3://BUCKET/.../manifest.json (CSV or Parquet)"),
    ),
    segments: Options.integer("segments").pipe(
      Options.withDefault(4),
      Options.withDescription("Parallel Scan segments of the table (1-1000)"),
    ),
  },
  runReconcile,
).pipe(
  Command.withDescription(
    "Compare cache and S3: missing, stale, orphaned, expired. Exit 0 clean (or all fixed), 3 drift found, 1 failure.",
  ),
  Services.provide,
)

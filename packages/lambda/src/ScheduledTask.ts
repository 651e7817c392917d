/**
 * The Lambda's scheduled entry: the safety net for lost S3 events (DESIGN
 * section 6). EventBridge Scheduler invokes the function with a task instead
 * of an S3 event (infra/terraform/modules/sync-lambda/schedule.tf):
 *
 * - `{ "docket": "reconcile", "slice": "changes/", "fix": true }`: core's
 *   `Reconcile.run` over one slice of the bucket, the documents whose keys
 *   start with `DOCKET_PREFIX` + `slice` (`""`: all of them). Listing and the
 *   orphan check are both narrowed to the slice, so one run reads one slice's
 *   listing and touches only its cache entries.
 *
 * The run logs one `lambda.scheduled` line with what it found and repaired
 * and returns that report. It fails (so Lambda retries it and then
 * dead-letters it, and the alarms see it) when the task is not one it knows,
 * when the listing or the cache could not be read, or when a repair failed.
 * Drift that was repaired is not a failure: it is what the net is for, and the
 * log line says how much there was.
 *
 * @since 0.1.0
 */
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as Heal from "@docket/core/Heal"
import * as MetricsExport from "@docket/core/MetricsExport"
import * as OperationLog from "@docket/core/OperationLog"
import * as Reconcile from "@docket/core/Reconcile"
import * as S3Key from "@docket/core/S3Key"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** Reconcile the documents under `DOCKET_PREFIX` + `slice`. */
export const ReconcileTask = Schema.Struct({
  docket: Schema.Literal("reconcile"),
  /** A sub-prefix under the document prefix; `""` is the whole prefix. */
  slice: Schema.optionalWith(Schema.String, { default: () => "" }),
  /** Repair the drift from S3 (default true); false only reports it. */
  fix: Schema.optionalWith(Schema.Boolean, { default: () => true }),
})

/** Resolve every abandoned write intent (lease expired) from the sparse intents index (`Heal.sweep`). */
export const HealTask = Schema.Struct({ docket: Schema.Literal("heal") })

/** A task the scheduled entry runs. */
export const Task = Schema.Union(ReconcileTask, HealTask)
export type Task = typeof Task.Type

export { isScheduledTask } from "./Route.js"

/** A scheduled run that Lambda should retry and, after the retries, dead-letter. */
export class ScheduledTaskError extends Data.TaggedError("ScheduledTaskError")<{
  readonly reason: "InvalidTask" | "ReconcileFailed" | "RepairsFailed"
  readonly task: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return `Scheduled ${this.task} failed (${this.reason}): ${this.detail}`
  }
}

/** What a scheduled reconcile reports. */
export interface ReconcileReport {
  readonly task: "reconcile"
  readonly slice: string
  readonly objects: number
  readonly documents: number
  readonly cacheEntries: number
  readonly counts: Reconcile.Report["counts"]
  readonly fix: boolean
  readonly fixed: number
  readonly fixFailed: number
  readonly durationMs: number
}

/** Decodes a scheduled event into its task. */
export const decode = (event: unknown): Effect.Effect<Task, ScheduledTaskError> =>
  Schema.decodeUnknown(Task)(event, { onExcessProperty: "error" }).pipe(
    Effect.mapError(
      (error) =>
        new ScheduledTaskError({
          reason: "InvalidTask",
          task: String((event as { docket?: unknown }).docket),
          detail: ParseResult.TreeFormatter.formatErrorSync(error),
          cause: error,
        }),
    ),
  )

/**
 * The store and cache narrowed to one slice: the listing covers only keys
 * under the slice, and the cache's orphan candidates (its scan, or its query
 * of live entries) only documents whose key is under it.
 */
export const sliceLayer = (
  slice: string,
): Layer.Layer<
  DocumentStore.DocumentStore | DocumentCache.DocumentCache,
  never,
  DocumentStore.DocumentStore | DocumentCache.DocumentCache | DocumentKind.DocumentKinds | DocketConfig.DocketConfig
> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const store = yield* DocumentStore.DocumentStore
      const cache = yield* DocumentCache.DocumentCache
      const kinds = yield* DocumentKind.DocumentKinds
      const config = yield* DocketConfig.DocketConfig
      const under = `${config.prefix}${slice}`
      const inSlice = (key: string) => key.startsWith(under)
      const keyOf = (kind: string, id: string) => {
        const k = kinds.get(kind)
        return k === undefined ? "" : S3Key.forDocument(config.prefix, k, id)
      }
      const narrowedStore: DocumentStore.Service = {
        ...store,
        list: (options) => store.list({ ...options, prefix: `${slice}${options?.prefix ?? ""}` }),
      }
      const narrowedCache: DocumentCache.Service = {
        ...cache,
        query: (query) => cache.query(query).pipe(Stream.filter((s) => inSlice(keyOf(s.kind, s.id)))),
        scan: (options) =>
          cache.scan(options).pipe(Stream.filter((entry) => entry._tag !== "Cached" || inSlice(entry.s3Key ?? ""))),
      }
      return Context.make(DocumentStore.DocumentStore, narrowedStore).pipe(
        Context.add(DocumentCache.DocumentCache, narrowedCache),
      )
    }),
  )

/** Everything a scheduled task needs: what S3 event sync needs. */
export type Requirements =
  | DocumentCache.DocumentCache
  | DocumentStore.DocumentStore
  | DocumentKind.DocumentKinds
  | DocketConfig.DocketConfig

/** Runs `Reconcile.run` over one slice and reports; fails when it could not run or a repair failed. */
export const reconcile = (
  task: typeof ReconcileTask.Type,
): Effect.Effect<ReconcileReport, ScheduledTaskError, Requirements> =>
  Reconcile.run({ fix: task.fix }).pipe(
    Effect.mapError(
      (error) =>
        new ScheduledTaskError({ reason: "ReconcileFailed", task: "reconcile", detail: error.message, cause: error }),
    ),
    Effect.provide(sliceLayer(task.slice)),
    Effect.flatMap((report) => {
      const summary: ReconcileReport = {
        task: "reconcile",
        slice: task.slice,
        objects: report.objects,
        documents: report.documents,
        cacheEntries: report.cacheEntries,
        counts: report.counts,
        fix: report.fix,
        fixed: report.fixed,
        fixFailed: report.fixFailed,
        durationMs: report.durationMs,
      }
      if (report.fixFailed === 0) return Effect.succeed(summary)
      const failed = report.drift.filter((d) => d.repair?.outcome === "failed")
      return Effect.fail(
        new ScheduledTaskError({
          reason: "RepairsFailed",
          task: "reconcile",
          detail: `${report.fixFailed} of ${report.drift.length} repair(s) failed under '${task.slice}': ${failed
            .slice(0, 5)
            .map((d) => `${d.key}: ${d.repair?.outcome === "failed" ? d.repair.error : ""}`)
            .join("; ")}`,
        }),
      )
    }),
  )

/** What a heal run reports. */
export type HealReport = { readonly task: "heal" } & Heal.SweepReport

/** Runs `Heal.sweep`; fails when the index could not be read or a resolution failed. */
export const heal: Effect.Effect<HealReport, ScheduledTaskError, Requirements> = Heal.sweep().pipe(
  Effect.mapError(
    (error) => new ScheduledTaskError({ reason: "ReconcileFailed", task: "heal", detail: error.message, cause: error }),
  ),
  Effect.flatMap((report) =>
    report.failed === 0
      ? Effect.succeed({ task: "heal" as const, ...report })
      : Effect.fail(
          new ScheduledTaskError({
            reason: "RepairsFailed",
            task: "heal",
            detail: `${report.failed} of ${report.found} expired intents could not be resolved`,
          }),
        ),
  ),
)

/** What a scheduled run reports. */
export type Report = ReconcileReport | HealReport

/**
 * Runs the scheduled task an invocation carries, logged as one
 * `lambda.scheduled` line (task, slice, drift counts, repairs, outcome, durationMs).
 */
export const run = (event: unknown): Effect.Effect<Report, ScheduledTaskError, Requirements> =>
  decode(event).pipe(
    Effect.flatMap(
      (task): Effect.Effect<Report, ScheduledTaskError, Requirements> =>
        task.docket === "heal" ? heal : reconcile(task),
    ),
    OperationLog.logged(
      "lambda.scheduled",
      { task: String((event as { docket?: unknown }).docket) },
      {
        describe: (report) =>
          report.task === "heal"
            ? { ...report }
            : {
                slice: report.slice,
                objects: report.objects,
                documents: report.documents,
                drift: Object.values(report.counts).reduce((a, b) => a + b, 0),
                ...report.counts,
                fixed: report.fixed,
                fixFailed: report.fixFailed,
              },
      },
    ),
    Effect.withSpan("docket.lambda.scheduled"),
  )

/**
 * Handles one scheduled invocation: {@link run}, annotated with the request id,
 * then the metrics flushed as EMF like every invocation.
 */
export const handle = (
  event: unknown,
  context: { readonly awsRequestId: string },
): Effect.Effect<Report, ScheduledTaskError, Requirements | MetricsExport.MetricsExport> =>
  run(event).pipe(Effect.ensuring(MetricsExport.flushEmf), Effect.annotateLogs({ requestId: context.awsRequestId }))

/**
 * Reconcile: compare the cache with S3 (the truth) and report drift, optionally
 * repairing it (DESIGN section 6). A merge-join of the S3 listing (or an S3
 * Inventory) with a parallel, segmented Scan of the table: both sides are
 * sorted by document key through an external sort (runs spilled to temporary
 * files), then walked together. No object body is read unless the ETags
 * differ, and every cache entry is seen whatever its time. On a clean state a
 * run costs the listing plus the Scan pages (each up to 1 MB of items).
 *
 * Drift is one of:
 * - `missing`: a document in S3 that the cache does not hold (or holds only a tombstone of);
 * - `stale`: the cache holds another version or other content than S3;
 * - `orphaned`: the cache holds a document that S3 no longer has;
 * - `expired`: the cache holds an entry past its retention (`expiresAt`) that
 *   DynamoDB has not deleted yet (reads already ignore it);
 * - `unreadable`: an S3 object under a document key that does not decode (cannot be fixed from S3).
 *
 * Repairs are conditional on what reconcile saw, so a write that lands while
 * reconcile runs is never clobbered (the repair is reported as failed instead).
 *
 * `run` builds one record of services, settings and counters and calls the
 * steps named in `internal/reconcileSteps.ts` (read, sort, merge-join, one
 * `resolve*` per kind of drift).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as DocketConfig from "./DocketConfig.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentKind from "./DocumentKind.js"
import * as DocumentStore from "./DocumentStore.js"
import * as Steps from "./internal/reconcileSteps.js"
import type { Options, Report, Source } from "./internal/reconcileTypes.js"
import { defaultSegments, driftTypes, type ReconcileError } from "./internal/reconcileTypes.js"

export type { Drift, DriftType, Options, Progress, Report, Source } from "./internal/reconcileTypes.js"
export { defaultSegments, driftTypes, ReconcileError } from "./internal/reconcileTypes.js"

/** Whether a report found drift. */
export const hasDrift = (report: Report): boolean => driftTypes.some((t) => report.counts[t] > 0)

/** Whether every drift found was repaired (trivially true without drift). */
export const allFixed = (report: Report): boolean => report.fixFailed === 0 && report.fixed === total(report)

const total = (report: Report) => driftTypes.reduce((n, t) => n + report.counts[t], 0)

/** ETags compare without quotes and weak markers. */
export const normaliseEtag = Steps.normaliseEtag

/**
 * Compares the cache with S3. Fails only when the listing, the Scan or the sort
 * cannot run; per-document problems are drift or failed repairs in the report.
 */
export const run = <E = never>(
  options: Options<E> = {},
): Effect.Effect<
  Report,
  ReconcileError,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocumentKind.DocumentKinds | DocketConfig.DocketConfig
> =>
  Effect.scoped(
    Effect.gen(function* () {
      const config = yield* DocketConfig.DocketConfig
      const run: Steps.Run = {
        cache: yield* DocumentCache.DocumentCache,
        store: yield* DocumentStore.DocumentStore,
        kinds: yield* DocumentKind.DocumentKinds,
        config,
        fix: (options.fix ?? false) && !(options.dryRun ?? config.dryRun),
        // Stryker disable next-line MethodExpression: speed only (how many rows are compared at once)
        concurrency: Math.max(1, options.concurrency ?? 8),
        segments: Math.max(1, options.segments ?? defaultSegments),
        maxDrift: Math.max(0, options.maxDriftReported ?? 1000),
        everyMs: Math.max(0, options.progressEveryMs ?? 1000),
        started: yield* Clock.currentTimeMillis,
        onProgress: options.onProgress,
        tally: Steps.tally(),
      }
      const source: { readonly kind: "listing" | "inventory"; readonly objects: Source<unknown> } = options.source ?? {
        kind: "listing",
        objects: run.store.list(),
      }
      const [left, right] = yield* Steps.sortBoth(
        Steps.readListing(run, source.objects),
        Steps.readScan(run),
        options.runSize,
      )
      yield* Steps.emitProgress(run, true)
      run.tally.phase = "comparing"
      yield* Steps.emitProgress(run, true)
      yield* Steps.mergeJoin(run, yield* Clock.currentTimeMillis, left, right)
      yield* Steps.emitProgress(run, true)
      const report = reportOf(run, source.kind, yield* Clock.currentTimeMillis)
      yield* logReport(report)
      return report
    }),
  ).pipe(Effect.withSpan("Reconcile.run"))

/** The report of a finished run. */
const reportOf = (run: Steps.Run, source: Report["source"], now: number): Report => {
  const t = run.tally
  const drift = Steps.sortedDrift(t.kept)
  return {
    source,
    objects: t.objects,
    documents: t.documents,
    cacheEntries: t.cacheEntries,
    orphanCheck: "scan",
    segments: run.segments,
    compared: t.compared,
    bodiesRead: t.bodiesRead,
    counts: t.counts,
    drift,
    driftTruncated: drift.length < driftTypes.reduce((n, d) => n + t.counts[d], 0),
    fix: run.fix,
    fixed: t.fixed,
    fixFailed: t.fixFailed,
    durationMs: now - run.started,
  }
}

const logReport = (report: Report) =>
  Effect.logInfo("reconcile").pipe(
    Effect.annotateLogs({
      operation: "reconcile",
      outcome: hasDrift(report) ? "drift" : "clean",
      objects: report.objects,
      documents: report.documents,
      cacheEntries: report.cacheEntries,
      compared: report.compared,
      bodiesRead: report.bodiesRead,
      segments: report.segments,
      ...report.counts,
      fixed: report.fixed,
      fixFailed: report.fixFailed,
      durationMs: report.durationMs,
    }),
  )

/**
 * Resolution of abandoned write intents (DESIGN section 6, invariant 6). A
 * writer that dies between its intent and its commit leaves the intent behind;
 * once its lease has expired, whoever meets it resolves it: the next writer of
 * the key, a fallback read, event sync, or the sweep in this module.
 *
 * Resolving = HEAD the object. A put intent whose ETag S3 holds is committed
 * (rolled forward: the body is read, the document committed as S3 has it);
 * otherwise the intent is dropped: cleared, the committed state kept when S3
 * still holds it, else replaced by what S3 holds (a put that landed after its
 * writer gave up, a foreign write whose event met the intent). A
 * delete intent is rolled forward (a tombstone) when S3 has no object.
 * Because a writer gives up on its S3 call before its lease ends, nothing of
 * that writer can land after the resolution decided (docs/write-through.md).
 * Every resolution is one log line and counted in `IntentsResolved{outcome}`.
 *
 * {@link sweep} reads the sparse intents index (never a table scan); it is what
 * `docket heal` and the scheduled Lambda run.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentStore from "./DocumentStore.js"
import { resolve } from "./internal/resolveIntent.js"
import * as OperationLog from "./OperationLog.js"

export {
  isIntentRefusal,
  meet,
  type Resolution,
  type ResolveError,
  type Resolver,
  resolve,
  tombstoneTtlSeconds,
} from "./internal/resolveIntent.js"

/** What a sweep did. */
export interface SweepReport {
  /** Expired intents found in the index. */
  readonly found: number
  readonly rolledForward: number
  readonly dropped: number
  /** Found in the index but already gone when resolved. */
  readonly gone: number
  /** Resolutions that failed (logged; the next sweep retries them). */
  readonly failed: number
}

/** A sweep's progress: what it did so far, and how many expired intents it counted before it began. */
export interface SweepProgress extends SweepReport {
  /**
   * Expired intents in the index when the sweep began (the first pass's count). Intents resolved
   * meanwhile by someone else are still found (`gone`), so `found` reaches `total` at the end.
   */
  readonly total: number
}

/** Options of {@link sweep}. */
export interface SweepOptions {
  /** Resolutions run at once (default 4). */
  readonly concurrency?: number
  /**
   * Called once the expired intents are counted and after each intent, for progress with a
   * total. Given it, the sweep reads the index twice: once to count (the index is sparse and
   * projects only the intent, so a Query page holds hundreds of them), once to resolve.
   */
  readonly onProgress?: (progress: SweepProgress) => Effect.Effect<void>
}

/**
 * Resolves every intent whose lease has expired, from the sparse intents index.
 * A failed resolution is counted and left for the next sweep; the sweep itself
 * fails only when the index cannot be read.
 */
export const sweep = (
  options: SweepOptions = {},
): Effect.Effect<SweepReport, DocumentCache.CacheError, DocumentCache.DocumentCache | DocumentStore.DocumentStore> =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    const store = yield* DocumentStore.DocumentStore
    const now = yield* Clock.currentTimeMillis
    let report: SweepReport = { found: 0, rolledForward: 0, dropped: 0, gone: 0, failed: 0 }
    // Expired means `leaseExpiresAt <= now` (as in `resolve`); the index answers strictly before its bound.
    const expired = cache.intents({ expiredBefore: now + 1 })
    const onProgress = options.onProgress
    // The same bound both times: an intent written after `now` has a lease beyond it, so the
    // second pass finds no intent the first did not count.
    let total = 0
    if (onProgress !== undefined) {
      total = yield* Stream.runCount(expired)
      yield* onProgress({ ...report, total })
    }
    yield* expired.pipe(
      Stream.mapEffect((pending) => Effect.either(resolve(cache, store, pending, "sweep")), {
        concurrency: Math.max(1, options.concurrency ?? 4),
      }),
      Stream.runForEach((result) => {
        report = {
          ...report,
          found: report.found + 1,
          ...(result._tag === "Left"
            ? { failed: report.failed + 1 }
            : result.right === "rolled-forward"
              ? { rolledForward: report.rolledForward + 1 }
              : result.right === "dropped"
                ? { dropped: report.dropped + 1 }
                : { gone: report.gone + 1 }),
        }
        return onProgress === undefined ? Effect.void : onProgress({ ...report, total: Math.max(total, report.found) })
      }),
    )
    return report
  }).pipe(OperationLog.logged("heal.sweep", {}, { describe: (report) => ({ outcome: "ok", ...report }) }))

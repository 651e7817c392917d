/**
 * The steps of the write protocol that write-through composes (see
 * `WriteThrough.ts`): recording the intent (waiting for or resolving another
 * writer's), the S3 call bounded by the lease, the commit, clearing the intent
 * after an S3 failure, and the dry-run description. Each step is a named
 * module-level function taking its {@link Deps} first; `make` binds them once.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as CacheEntry from "../CacheEntry.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as DocketConfig from "../DocketConfig.js"
import * as Document from "../Document.js"
import * as DocumentCache from "../DocumentCache.js"
import * as DocumentStore from "../DocumentStore.js"
import * as Heal from "../Heal.js"
import * as OperationLog from "../OperationLog.js"
import { type Rollback, RollbackFailedError, WriteConflictError } from "./writeErrors.js"
import type { DeleteResult, WriteResult } from "./writeResult.js"

/** An intent recorded (or found unnecessary). */
export type Recorded = Extract<DocumentCache.IntentOutcome, { readonly _tag: "Recorded" | "Unchanged" }>

/** What the steps need. */
export interface Deps {
  readonly cache: DocumentCache.Service
  readonly store: DocumentStore.Service
  readonly settings: DocketConfig.Settings
  readonly leaseMillis: number
  readonly budget: Duration.Duration
}

const countRollback = CacheMetrics.incrementTagged(CacheMetrics.rollbacks, "outcome")

/** The typed failure of a cause; `None` for interruptions and defects, which are re-raised as they are. */
export const failureOf = <E>(cause: Cause.Cause<E>): Option.Option<E> =>
  Cause.isInterrupted(cause) || Cause.isDie(cause) ? Option.none() : Cause.failureOption(cause)

/**
 * Before the S3 call: when its budget would run past our lease (the process
 * was slow to get here: a slow or retried intent call, a pause), renew the
 * lease first, with the same conditional write on our own intent (our writer
 * id passes its condition; it moves the lease and the index key). So no put
 * of ours is ever in flight past our lease. Returns the S3 calls' deadline
 * (one put budget from now, never past the lease: the put and its one
 * conditional retry share it, so a writer ends within `DOCKET_WRITE_WAIT`
 * plus one budget) and the committed state to put over (re-read by a renewal).
 *
 * A renewal that finds our intent gone (its lease ran out and a resolver
 * dropped it) ends the write without an S3 call: another writer's intent is a
 * {@link WriteConflictError}, a newer committed version a `StaleWriteError`,
 * our very document `Unchanged`. A renewal that fails keeps the old lease, and
 * the put is cut off at it.
 */
export const prepare = (
  deps: Deps,
  operation: "write" | "delete",
  key: string,
  request: (now: number) => DocumentCache.IntentRequest,
  leaseExpiresAt: number,
  previous: Option.Option<CacheEntry.Entry>,
): Effect.Effect<
  | { readonly _tag: "Go"; readonly deadline: number; readonly previous: Option.Option<CacheEntry.Entry> }
  | { readonly _tag: "Unchanged" },
  DocumentCache.StaleWriteError | WriteConflictError
> =>
  Effect.clockWith((clock) => {
    const now = clock.unsafeCurrentTimeMillis()
    const budgetMillis = Duration.toMillis(deps.budget)
    // The usual case, in one step of the fiber: a whole budget of lease is left.
    if (leaseExpiresAt - now >= budgetMillis)
      return Effect.succeed({ _tag: "Go", deadline: now + budgetMillis, previous } as const)
    return renew(deps, operation, key, request, leaseExpiresAt, previous, now, budgetMillis)
  })

/** {@link prepare} when less than a budget of lease is left: renew the lease first. */
const renew = (
  deps: Deps,
  operation: "write" | "delete",
  key: string,
  request: (now: number) => DocumentCache.IntentRequest,
  leaseExpiresAt: number,
  previous: Option.Option<CacheEntry.Entry>,
  now: number,
  budgetMillis: number,
) =>
  Effect.gen(function* () {
    const next = request(now)
    const renewal = yield* Effect.either(deps.cache.intend(next))
    if (renewal._tag === "Left") {
      if (renewal.left._tag === "StaleWriteError") return yield* renewal.left
      return { _tag: "Go", deadline: Math.min(leaseExpiresAt, now + budgetMillis), previous } as const
    }
    const outcome = renewal.right
    switch (outcome._tag) {
      case "Recorded":
        return {
          _tag: "Go",
          deadline: Math.min(next.leaseExpiresAt, now + budgetMillis),
          previous: outcome.previous,
        } as const
      case "Unchanged":
        return { _tag: "Unchanged" } as const
      case "Blocked":
        return yield* new WriteConflictError({
          reason: "Contention",
          operation,
          key,
          otherVersion: outcome.intent.version,
          otherWriter: outcome.intent.writer,
          waitedMillis: 0,
        })
    }
  })

/**
 * The S3 call of a write, bounded by the write's deadline ({@link prepare}), so it never outlives
 * the lease: `call` gets the deadline to pass in its conditions, and the store enforces it with
 * its own timers (`DocumentStore.Deadline`: the S3 backend's abort timer, the memory store's check,
 * the fault wrappers' bound). Here only a call whose deadline has passed is refused before it
 * starts. Not an `Effect.timeoutFail` around the call: its fork, race and join of fiber state
 * were ~0.4 ms of CPU on every write (docs/write-through.md).
 */
export const bounded = <A>(
  operation: string,
  s3Key: string,
  deadline: number,
  call: (bound: DocumentStore.Deadline) => Effect.Effect<A, DocumentStore.StoreError>,
): Effect.Effect<A, DocumentStore.StoreError> =>
  Effect.clockWith((clock) => {
    const left = deadline - clock.unsafeCurrentTimeMillis()
    // Built only when it happens: an error captures a stack trace.
    return left <= 0 ? Effect.fail(DocumentStore.pastDeadline(operation, s3Key, left)) : call({ deadline })
  })

/**
 * Records our intent: waits (jittered backoff) for another writer's live
 * intent up to `DOCKET_WRITE_WAIT`, resolves an expired one, and retries.
 */
export const acquire = (
  deps: Deps,
  operation: "write" | "delete",
  key: string,
  request: (now: number) => DocumentCache.IntentRequest,
): Effect.Effect<
  { readonly recorded: Recorded; readonly leaseExpiresAt: number },
  DocumentCache.CacheError | DocumentCache.StaleWriteError | WriteConflictError
> =>
  // The first round in plain combinators (one clock read, no generator): most writes end there.
  Effect.clockWith((clock) => {
    const start = clock.unsafeCurrentTimeMillis()
    const next = request(start)
    return Effect.flatMap(intendOnce(deps, next), (outcome) =>
      outcome._tag !== "Blocked"
        ? Effect.succeed({ recorded: outcome, leaseExpiresAt: next.leaseExpiresAt })
        : waitForOther(deps, operation, key, request, start, outcome.intent),
    )
  })

/**
 * One intent call. An attempt may have recorded our intent before the call failed (an answer lost,
 * then a retry refused): clear it, or the next writer of the key waits out our whole lease for a
 * write that never reached S3. Best effort: if this fails too, the intent expires and is resolved.
 */
const intendOnce = (deps: Deps, next: DocumentCache.IntentRequest) =>
  deps.cache
    .intend(next)
    .pipe(
      Effect.tapErrorTag("CacheError", () => Effect.ignore(deps.cache.clearIntent(next.kind, next.id, next.writer))),
    )

/** {@link acquire} after a round found another writer's intent: resolve it or wait, then the next rounds. */
const waitForOther = (
  deps: Deps,
  operation: "write" | "delete",
  key: string,
  request: (now: number) => DocumentCache.IntentRequest,
  start: number,
  firstOther: DocumentCache.Intent,
): Effect.Effect<
  { readonly recorded: Recorded; readonly leaseExpiresAt: number },
  DocumentCache.CacheError | DocumentCache.StaleWriteError | WriteConflictError
> =>
  Effect.gen(function* () {
    // Round 0's call was made at `start` (by `acquire`) and found `firstOther`.
    let now = start
    let other = firstOther
    for (let round = 0; ; round++) {
      if (round > 0) {
        now = yield* Clock.currentTimeMillis
        const next = request(now)
        const outcome = yield* intendOnce(deps, next)
        if (outcome._tag !== "Blocked") return { recorded: outcome, leaseExpiresAt: next.leaseExpiresAt }
        other = outcome.intent
      }
      if (other.leaseExpiresAt <= now) {
        // A dead writer's intent: settle it from S3, then try again. A failed resolution waits like contention.
        const { kind, id } = request(now)
        const resolved = yield* Effect.either(
          Heal.resolve(deps.cache, deps.store, { kind, id, intent: other }, "writer"),
        )
        if (resolved._tag === "Right") continue
      }
      const waited = now - start
      if (waited >= deps.settings.writeWaitMillis) {
        return yield* new WriteConflictError({
          reason: "Contention",
          operation,
          key,
          otherVersion: other.version,
          otherWriter: other.writer,
          waitedMillis: waited,
        })
      }
      const backoff = Math.min(1000, 20 * 2 ** Math.min(round, 6))
      const jitter = yield* Random.nextRange(0.5, 1)
      const untilExpiry = Math.max(1, other.leaseExpiresAt - now)
      const delay = Math.max(1, Math.min(backoff * jitter, deps.settings.writeWaitMillis - waited, untilExpiry))
      yield* Effect.sleep(Duration.millis(Math.ceil(delay)))
    }
  })

/** Clears our intent after S3 refused or failed: the committed state was never touched. */
export const clear = (
  deps: Deps,
  operation: "write" | "delete",
  kind: string,
  id: string,
  writer: string,
  s3Key: string,
  cause: DocumentStore.StoreError | DocumentCache.CacheError,
): Effect.Effect<Rollback, RollbackFailedError> =>
  deps.cache.clearIntent(kind, id, writer).pipe(
    Effect.as<Rollback>("Restored"),
    Effect.tap(() => countRollback("ok")),
    Effect.mapError(
      (rollbackCause) => new RollbackFailedError({ operation, key: `${kind}/${id}`, s3Key, cause, rollbackCause }),
    ),
    Effect.tapError(() => Effect.zipRight(countRollback("failed"), Metric.increment(CacheMetrics.reconcileNeeded))),
    OperationLog.logged(
      "writeThrough.rollback",
      { key: `${kind}/${id}`, s3Key, of: operation, cause: cause.message },
      {
        describe: (rollback) => ({ rollback }),
      },
    ),
  )

/** Commits; a failure leaves the intent to be resolved from S3 (where our change is). */
export const commit = (
  deps: Deps,
  operation: "write" | "delete",
  request: DocumentCache.CommitRequest,
  s3Key: string,
): Effect.Effect<void, RollbackFailedError> =>
  // One step for both outcomes (an `asVoid`, a `mapError` and a `tapError` were three).
  Effect.matchEffect(deps.cache.commit(request), {
    onSuccess: () => Effect.void,
    onFailure: (error) =>
      Effect.zipRight(
        Metric.increment(CacheMetrics.reconcileNeeded),
        Effect.fail(
          new RollbackFailedError({
            operation,
            key: `${request.kind}/${request.id}`,
            s3Key,
            cause: error,
            rollbackCause: error,
          }),
        ),
      ),
  })

/** Leaves the intent for resolution when S3's state is unknown. */
export const unsettled = (
  operation: "write" | "delete",
  key: string,
  s3Key: string,
  cause: DocumentStore.StoreError,
  headCause: DocumentStore.StoreError,
) =>
  Effect.zipRight(
    Effect.zipRight(countRollback("failed"), Metric.increment(CacheMetrics.reconcileNeeded)),
    Effect.fail(new RollbackFailedError({ operation, key, s3Key, cause, rollbackCause: headCause })),
  )

export const conditionsOf = (previous: Option.Option<CacheEntry.Entry>): DocumentStore.PutConditions =>
  Option.match(previous, {
    onNone: () => ({ ifNoneMatch: "*" as const }),
    onSome: (entry) =>
      entry._tag === "Tombstone"
        ? { ifNoneMatch: "*" as const }
        : // An entry of the earlier protocol may not know its ETag: the intent alone guards that write.
          entry.etag !== undefined
          ? { ifMatch: entry.etag }
          : {},
  })

/** After a failed S3 call whose object is not ours: clear our intent, report RolledBack (or re-raise). */
export const settle = (
  deps: Deps,
  failure: Cause.Cause<DocumentStore.StoreError>,
  key: string,
  s3Key: string,
  kind: string,
  id: string,
  writer: string,
  version: number | undefined,
  operation: "write" | "delete",
) =>
  Effect.gen(function* () {
    const error = Option.getOrUndefined(failureOf(failure))
    const cause = error ?? interrupted(operation === "write" ? "PutObject" : "DeleteObject", s3Key)
    const rollback = yield* clear(deps, operation, kind, id, writer, s3Key, cause)
    if (error === undefined) return yield* Effect.failCause(failure as Cause.Cause<never>)
    return { _tag: "RolledBack", key, s3Key, cause: error, rollback, ...(version !== undefined ? { version } : {}) }
  })

export const dryRunWrite = (deps: Deps, document: Document.AnyDocument, key: string, s3Key: string) =>
  Effect.gen(function* () {
    const actions: Array<string> = []
    if (deps.settings.cacheEnabled) {
      const current = yield* deps.cache.get(document.kind, document.id, { includeExpired: true })
      const cached = Option.flatMap(current, (e) =>
        e._tag === "Cached" ? Option.some(e) : Option.none<CacheEntry.CachedDocument>(),
      )
      if (Option.isSome(cached)) {
        const stored = cached.value.summary.version
        const same =
          stored === document.version &&
          cached.value.document !== undefined &&
          Document.sameContent(cached.value.document, document)
        if (
          stored > document.version ||
          (stored === document.version && !same && cached.value.document !== undefined)
        ) {
          return yield* new DocumentCache.StaleWriteError({
            key,
            attemptedVersion: document.version,
            storedVersion: stored,
            reason: stored > document.version ? "OlderVersion" : "SameVersionDifferentContent",
          })
        }
        if (same)
          return {
            _tag: "DryRun",
            key,
            s3Key,
            version: document.version,
            actions: ["nothing: unchanged"],
          } as WriteResult
      }
      actions.push(
        `record intent on cache ${key} for version ${document.version} (committed: ${Option.match(cached, { onNone: () => "nothing", onSome: (c) => `version ${c.summary.version}` })})`,
      )
    }
    actions.push(`put s3 ${s3Key} version ${document.version}`)
    if (deps.settings.cacheEnabled) {
      actions.push(`commit cache ${key} version ${document.version}; on S3 failure: clear the intent only`)
    }
    return { _tag: "DryRun", key, s3Key, version: document.version, actions } as WriteResult
  })

/** A step with its {@link Deps} bound. */
type Over<F> = F extends (deps: Deps, ...args: infer A) => infer R ? (...args: A) => R : never

/** The steps over `deps` (each a module-level function above, its deps bound once here). */
export const make = (
  deps: Deps,
): {
  readonly prepare: Over<typeof prepare>
  readonly bounded: typeof bounded
  readonly acquire: Over<typeof acquire>
  readonly clear: Over<typeof clear>
  readonly commit: Over<typeof commit>
  readonly unsettled: typeof unsettled
  readonly conditionsOf: typeof conditionsOf
  readonly settle: Over<typeof settle>
  readonly dryRunWrite: Over<typeof dryRunWrite>
} => ({
  prepare: (operation, key, request, leaseExpiresAt, previous) =>
    prepare(deps, operation, key, request, leaseExpiresAt, previous),
  bounded,
  acquire: (operation, key, request) => acquire(deps, operation, key, request),
  clear: (operation, kind, id, writer, s3Key, cause) => clear(deps, operation, kind, id, writer, s3Key, cause),
  commit: (operation, request, s3Key) => commit(deps, operation, request, s3Key),
  unsettled,
  conditionsOf,
  settle: (failure, key, s3Key, kind, id, writer, version, operation) =>
    settle(deps, failure, key, s3Key, kind, id, writer, version, operation),
  dryRunWrite: (document, key, s3Key) => dryRunWrite(deps, document, key, s3Key),
})

export const interrupted = (operation: string, key: string) =>
  new DocumentStore.StoreError({ reason: "Unknown", operation, key, cause: "interrupted" })

export const describeResult = <R extends WriteResult | DeleteResult>(result: R): OperationLog.Fields => {
  switch (result._tag) {
    case "Written":
      return { outcome: "Written", etag: result.etag }
    case "RolledBack":
      return { outcome: "RolledBack", rollback: result.rollback, cause: result.cause.message }
    case "DryRun":
      return { outcome: "DryRun", actions: result.actions }
    default:
      return { outcome: result._tag }
  }
}

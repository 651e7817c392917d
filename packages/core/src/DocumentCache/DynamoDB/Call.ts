/**
 * The plumbing of every DynamoDB call of the cache backend: the process's
 * {@link RateLimit}, a per-attempt timeout, the retry policy (throttling, 5xx,
 * network errors, timeouts and transaction conflicts; never condition failures
 * or validation), consumed
 * capacity, and one log line per operation with its attempts and requests.
 *
 * @since 0.2.0
 */
import type { AttributeValue, ConsumedCapacity, DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as CacheMetrics from "../../CacheMetrics.js"
import type * as DocketError from "../../DocketError.js"
import { CacheError } from "../../DocumentCache.js"
import type * as DocumentKind from "../../DocumentKind.js"
import type * as Items from "../../Items.js"
import { asAbortSignal, LightController } from "../../internal/abort.js"
import * as OperationLog from "../../OperationLog.js"
import type { Service as RateLimitService } from "../../RateLimit.js"
import * as Retry from "../../Retry.js"
import * as Table from "../../Table.js"

/**
 * Counts of one operation: attempts made, requests answered, capacity consumed
 * (`undefined` until an answer reports some: only when the backend asks for it,
 * {@link Backend.consumedCapacity}).
 */
export type Stats = { attempts: number; requests: number; consumedCapacity: number | undefined }

/** Fresh {@link Stats}. */
export const newStats = (): Stats => ({ attempts: 0, requests: 0, consumedCapacity: undefined })

/** The fields of a log line for `stats`: `consumedCapacity` only when some was reported. */
export const statsFields = (stats: Stats): OperationLog.Fields =>
  stats.consumedCapacity === undefined
    ? { attempts: stats.attempts, requests: stats.requests }
    : { attempts: stats.attempts, requests: stats.requests, consumedCapacity: stats.consumedCapacity }

/** What a request adds to ask DynamoDB for its consumed capacity: see {@link Backend.capacity}. */
export type CapacityParameter = { readonly ReturnConsumedCapacity?: "TOTAL" }
const capacityTotal: CapacityParameter = { ReturnConsumedCapacity: "TOTAL" }
const capacityNone: CapacityParameter = {}

/** A string attribute value. */
export const S = (s: string): AttributeValue => ({ S: s })

/** A number attribute value. */
export const N = (n: number): AttributeValue => ({ N: String(n) })

/** The key of a document item. */
export const docKey = (kind: string, id: string): Items.Item => {
  const { partitionKey, sortKey } = Table.definition
  return { [partitionKey]: S(`DOC#${kind}#${id}`), [sortKey]: S("DOC") }
}

const capacityOf = (consumed: ConsumedCapacity | ReadonlyArray<ConsumedCapacity> | undefined): number =>
  consumed === undefined
    ? 0
    : Array.isArray(consumed)
      ? consumed.reduce((n: number, c: ConsumedCapacity) => n + (c.CapacityUnits ?? 0), 0)
      : ((consumed as ConsumedCapacity).CapacityUnits ?? 0)

/** A failed SDK call, classified for retrying. */
export class AwsFailure {
  readonly _tag = "AwsFailure"
  constructor(
    readonly error: unknown,
    readonly reason: DocketError.Reason,
    readonly retryable: boolean,
  ) {}
}

const throttledCancellations = new Set(["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"])

/** Classifies an SDK error: condition failures are never retried, transaction conflicts always. */
export const classifyFailure = (error: unknown): AwsFailure => {
  const e = error as { name?: string; CancellationReasons?: ReadonlyArray<{ Code?: string }> }
  if (e?.name === "TransactionCanceledException") {
    const codes = (e.CancellationReasons ?? []).map((r) => r.Code ?? "None")
    if (codes.includes("ConditionalCheckFailed")) return new AwsFailure(error, "Invalid", false)
    if (codes.includes("TransactionConflict")) return new AwsFailure(error, "Contention", true)
    if (codes.some((c) => throttledCancellations.has(c))) return new AwsFailure(error, "Throttled", true)
  }
  if (e?.name === "ConditionalCheckFailedException") return new AwsFailure(error, "Invalid", false)
  if (e?.name === "TransactionConflictException") return new AwsFailure(error, "Contention", true)
  const { reason, retryable } = Retry.classify(error)
  return new AwsFailure(error, reason, retryable)
}

/** Whether a transaction was cancelled because the condition of action `index` failed. */
export const isConditionCancel = (error: unknown, index = 0): boolean => {
  const e = error as { name?: string; CancellationReasons?: ReadonlyArray<{ Code?: string }> }
  return e?.name === "TransactionCanceledException" && e.CancellationReasons?.[index]?.Code === "ConditionalCheckFailed"
}

/** The item a cancelled transaction returned for action `index` (`ReturnValuesOnConditionCheckFailure`). */
export const cancellationItem = (error: unknown, index = 0): Items.Item | undefined =>
  (error as { CancellationReasons?: ReadonlyArray<{ Item?: Items.Item }> })?.CancellationReasons?.[index]?.Item

/** Whether a single-item write failed on its condition. */
export const isConditionalCheckFailed = (error: unknown): boolean =>
  (error as { name?: string })?.name === "ConditionalCheckFailedException"

/** The item a failed single-item write returned (`ReturnValuesOnConditionCheckFailure: ALL_OLD`). */
export const conditionalCheckItem = (error: unknown): Items.Item | undefined => (error as { Item?: Items.Item })?.Item

/** An attempt that did not answer within the backend's `attemptTimeout` (its request was aborted). */
export class AttemptTimeoutError extends Error {
  // The name `Retry.classify` reads as a timeout: retried under the policy, reported as `Timeout`.
  override readonly name = "TimeoutError"
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`)
  }
}

/**
 * One attempt of `send`, counted in `stats` (its answer too: requests, consumed capacity): aborted after `timeoutMs` (the SDK cancels the HTTP
 * request, and the attempt fails with an {@link AttemptTimeoutError}) or when the fiber is
 * interrupted. One light abort controller (`internal/abort.ts`: not an `EventTarget`) and one
 * native timer per attempt, in one async step of the fiber: no fiber, no composed signal, no
 * Effect timeout on the hot path (measured: the composed `AbortSignal.any` of the fiber's signal
 * and `AbortSignal.timeout` cost ~50 us more per call than one controller, and each effect step
 * around the promise a few more).
 *
 * The answer goes through `onSuccess` and a failure (classified, a throttle counted) through
 * `onFailure`, both in the step that resumes the fiber: the first attempt of a call decides
 * there whether to enter the retries, so a call that succeeds at once runs no retry machinery
 * and no mapping step (see {@link makeBackend}).
 */
const attempt = <O extends { ConsumedCapacity?: unknown }, B, E>(
  stats: Stats,
  send: (signal: AbortSignal) => Promise<O>,
  timeoutMs: number,
  onSuccess: (out: O) => B,
  onFailure: (failure: AwsFailure) => Effect.Effect<B, E>,
): Effect.Effect<B, E> =>
  Effect.async<B, E>((resume) => {
    stats.attempts++
    const controller = new LightController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeoutMs)
    timer.unref?.()
    const failed = (error: unknown) => {
      clearTimeout(timer)
      let next: Effect.Effect<B, E>
      try {
        const failure = classifyFailure(timedOut ? new AttemptTimeoutError(timeoutMs) : error)
        next = onFailure(failure)
        if (failure.reason === "Throttled") next = Effect.zipRight(Metric.increment(CacheMetrics.throttles), next)
      } catch (defect) {
        // A handler that throws is a defect of the call (as in a `map`), not a fiber left waiting.
        next = Effect.die(defect)
      }
      resume(next)
    }
    try {
      send(asAbortSignal(controller.signal)).then((out) => {
        clearTimeout(timer)
        // Counted here, not in a `map` after the retries: the answer of an attempt is the call's.
        stats.requests++
        if (out.ConsumedCapacity !== undefined) {
          stats.consumedCapacity =
            (stats.consumedCapacity ?? 0) + capacityOf(out.ConsumedCapacity as ConsumedCapacity | undefined)
        }
        let next: Effect.Effect<B>
        try {
          next = Effect.succeed(onSuccess(out))
        } catch (defect) {
          next = Effect.die(defect)
        }
        resume(next)
      }, failed)
    } catch (error) {
      failed(error)
    }
    return Effect.sync(() => {
      clearTimeout(timer)
      controller.abort()
    })
  })

const same = <A>(a: A): A => a

/** What every module of the backend shares. */
export interface Backend {
  readonly client: DynamoDBClient
  readonly table: string
  readonly registry: DocumentKind.Registry
  readonly retentionDays: number
  /** Shards of a status index partition (`Table.statusShards` unless a test sets it). */
  readonly statusShards: number
  readonly dryRun: boolean
  /**
   * Spread into every request: `ReturnConsumedCapacity: "TOTAL"` when the backend reports
   * consumed capacity (the `consumedCapacity` field of its log lines), nothing otherwise.
   */
  readonly capacity: CapacityParameter
  /** One SDK call: rate limited, retried under the policy, counted in `stats`. */
  readonly call: <O extends { ConsumedCapacity?: unknown }>(
    stats: Stats,
    send: (signal: AbortSignal) => Promise<O>,
  ) => Effect.Effect<O, AwsFailure>
  /**
   * {@link Backend.call} with its answer mapped and its final failure handled (`onFailure`
   * may recover: a refused condition as an outcome), in the steps of the attempt: no `map`,
   * `mapError` or `catchIf` step after a call that succeeds, or fails for good, at once.
   */
  readonly callWith: <O extends { ConsumedCapacity?: unknown }, B, E>(
    stats: Stats,
    send: (signal: AbortSignal) => Promise<O>,
    onSuccess: (out: O) => B,
    onFailure: (failure: AwsFailure) => Effect.Effect<B, E>,
  ) => Effect.Effect<B, E>
}

/** Builds the shared {@link Backend}. */
export const makeBackend = (options: {
  readonly client: DynamoDBClient
  readonly table: string
  readonly registry: DocumentKind.Registry
  readonly retentionDays: number
  readonly statusShards: number
  readonly dryRun: boolean
  /** Ask DynamoDB for each request's consumed capacity and log it (`DOCKET_CONSUMED_CAPACITY`). */
  readonly consumedCapacity: boolean
  readonly rateLimit: RateLimitService
  readonly retry: Retry.Policy
  /** Longest wait for one attempt's answer, in ms. */
  readonly attemptTimeoutMs: number
}): Backend => {
  const timeoutMs = options.attemptTimeoutMs
  const retryAfter = Retry.retryingAfter(options.retry)
  const { rateLimit } = options
  const failWith = (failure: AwsFailure) => Effect.fail(failure)
  // What `Retry.retrying(rateLimit.limit(attempt))` does, with the retries entered from the first
  // attempt's failure (`Retry.retryingAfter`: that failure is the schedule's first attempt), then
  // every further attempt rate limited and timed as the first was (the same attempts, delays
  // and final error as the schedule's).
  const callWith = <O extends { ConsumedCapacity?: unknown }, B, E>(
    stats: Stats,
    send: (signal: AbortSignal) => Promise<O>,
    onSuccess: (out: O) => B,
    onFailure: (failure: AwsFailure) => Effect.Effect<B, E>,
  ): Effect.Effect<B, E> => {
    const retried = (first: AwsFailure): Effect.Effect<B, E> => {
      if (!first.retryable) return onFailure(first)
      const retries = retryAfter(first, rateLimit.limit(attempt(stats, send, timeoutMs, same<O>, failWith)))
      return onSuccess === same && (onFailure as unknown) === failWith
        ? (retries as unknown as Effect.Effect<B, E>)
        : Effect.matchEffect(retries, { onSuccess: (out) => Effect.succeed(onSuccess(out)), onFailure })
    }
    return rateLimit.limit(attempt(stats, send, timeoutMs, onSuccess, retried))
  }
  const call = <O extends { ConsumedCapacity?: unknown }>(
    stats: Stats,
    send: (signal: AbortSignal) => Promise<O>,
  ): Effect.Effect<O, AwsFailure> => callWith(stats, send, same<O>, failWith)
  return {
    client: options.client,
    table: options.table,
    registry: options.registry,
    retentionDays: options.retentionDays,
    statusShards: options.statusShards,
    dryRun: options.dryRun,
    capacity: options.consumedCapacity ? capacityTotal : capacityNone,
    call,
    callWith,
  }
}

/** A failed call as the port's {@link CacheError}. */
export const cacheError = (operation: string, key: string) => (failure: AwsFailure) =>
  new CacheError({ reason: failure.reason, operation, key, cause: failure.error })

/** Logs one line per operation; `fields` is read when the line is written (after the attempts). */
export const log = <A, E, R>(
  operation: string,
  fields: Record<string, unknown> & { stats: Stats },
  self: Effect.Effect<A, E, R>,
  describe?: (a: A) => OperationLog.Fields,
  level: "info" | "debug" | ((a: A) => "info" | "debug") = "info",
): Effect.Effect<A, E, R> => {
  // Built only when a line is written (a debug success line below the minimum level never is).
  const line = () => {
    const { stats, ...rest } = fields
    return { ...rest, ...statsFields(stats) }
  }
  return OperationLog.logged<A>(operation, line, describe === undefined ? { level } : { describe, level })(self)
}

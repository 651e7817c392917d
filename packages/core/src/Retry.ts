/**
 * The retry policy every AWS call uses: exponential backoff with jitter and a
 * cap, for retryable failures only (throttling, 5xx, timeouts, network errors),
 * never for validation or condition failures.
 *
 * The SDK clients are built with `maxAttempts: 1` so that this policy is the only
 * one: its attempts are logged, counted and testable under `TestClock`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as DocketError from "./DocketError.js"

/** How to retry. */
export interface Policy {
  /** Total attempts, including the first. */
  readonly maxAttempts: number
  /** The first delay; each next one doubles. */
  readonly base: Duration.DurationInput
  /** No delay is longer than this. */
  readonly cap: Duration.DurationInput
}

/** 5 attempts, 50 ms doubling, capped at 2 s. */
export const defaultPolicy: Policy = { maxAttempts: 5, base: "50 millis", cap: "2 seconds" }

/** The schedule of a policy: capped exponential delays with jitter, `maxAttempts - 1` retries. */
export const schedule = (policy: Policy): Schedule.Schedule<unknown> => {
  const cap = Duration.decode(policy.cap)
  return Schedule.exponential(policy.base, 2).pipe(
    Schedule.modifyDelay((delay) => Duration.min(delay, cap)),
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(Math.max(0, policy.maxAttempts - 1))),
  )
}

/** Something that says whether it is worth another attempt. */
export interface Retryable {
  readonly retryable: boolean
}

/**
 * Retries `self` under `policy` while its error says it is retryable.
 *
 * The first attempt runs on its own: `Effect.retry` builds a schedule driver for
 * every call, which cost more CPU than a cache hit's own work (measured: ~25 us a
 * call on the loaded 2-core machine), and most calls succeed the first time. Its
 * failure is then replayed as the first attempt of `Effect.retry`, so attempts,
 * delays and the final error are exactly the schedule's.
 */
export const retrying = (policy: Policy) => {
  const after = retryingAfter(policy)
  return <A, E extends Retryable, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.catchAll(self, (first) => after(first, self))
}

/**
 * The retries of {@link retrying} once a first attempt has failed with `first`: `self` runs
 * again under `policy` while its error is retryable, with `first` counted as the schedule's
 * first attempt (replayed, not re-run). For callers whose first attempt handles its own
 * failure in the same step (the DynamoDB backend's calls), so a success pays for no retry frame.
 */
export const retryingAfter = (policy: Policy) => {
  // Built once per policy, not per call: a schedule is an immutable description.
  const options = { schedule: schedule(policy), while: (error: Retryable) => error.retryable }
  return <A, E extends Retryable, R>(first: E, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    if (!first.retryable) return Effect.fail(first)
    let replay = true
    return Effect.retry(
      Effect.suspend(() => {
        if (!replay) return self
        replay = false
        return Effect.fail(first)
      }),
      options,
    )
  }
}

const throttlingNames = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
  "RequestThrottled",
  "RequestThrottledException",
  "TransactionInProgressException",
])
const timeoutNames = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"])
const networkCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
])

/**
 * Classifies an AWS SDK (or network) error into a {@link DocketError.Reason}.
 * `retryable` is true for throttling, 5xx, timeouts and network errors
 * (`DocketError.isRetryable` of the reason).
 */
export const classify = (error: unknown): { readonly reason: DocketError.Reason; readonly retryable: boolean } => {
  const e = error as {
    name?: string
    code?: string
    $metadata?: { httpStatusCode?: number }
    $retryable?: unknown
    cause?: unknown
  }
  const name = e?.name ?? ""
  const status = e?.$metadata?.httpStatusCode
  if (throttlingNames.has(name) || status === 429 || status === 503) return { reason: "Throttled", retryable: true }
  if (timeoutNames.has(name) || e?.code === "ETIMEDOUT") return { reason: "Timeout", retryable: true }
  if (networkCodes.has(e?.code ?? "")) return { reason: "Unavailable", retryable: true }
  if (status !== undefined && status >= 500) return { reason: "Unavailable", retryable: true }
  if (name === "AccessDeniedException" || name === "AccessDenied" || status === 403) {
    return { reason: "AccessDenied", retryable: false }
  }
  if (name === "ResourceNotFoundException" || name === "NoSuchBucket" || name === "NoSuchKey" || status === 404) {
    return { reason: "NotFound", retryable: false }
  }
  if (status !== undefined && status >= 400) return { reason: "Invalid", retryable: false }
  if (e?.$retryable !== undefined) return { reason: "Unavailable", retryable: true }
  if (e?.cause !== undefined && e.cause !== error) {
    const inner = classify(e.cause)
    if (inner.retryable) return inner
  }
  return { reason: "Unknown", retryable: false }
}

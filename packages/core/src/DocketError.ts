/**
 * The one error vocabulary of Docket's remote calls (DynamoDB, S3, CloudWatch):
 * the {@link Reason} literals, which of them are worth another attempt
 * ({@link isRetryable}), and {@link Remote}, the base of every tagged error that
 * reports a failed call, so `retryable` is decided in one place.
 *
 * Errors that are not about a remote call (a stale write, a bad query, a
 * malformed event) have reasons of their own and are never retryable.
 *
 * @example
 * ```ts
 * import * as DocketError from "@docket/core/DocketError"
 *
 * class QueueError extends DocketError.Remote("QueueError")<{
 *   readonly reason: DocketError.Reason
 *   readonly cause?: unknown
 * }> {}
 *
 * new QueueError({ reason: "Throttled" }).retryable // true
 * ```
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"

/**
 * Why a remote call failed, as far as retrying and reporting care.
 * - `Throttled`: the service asked us to slow down (429, 503, throughput exceeded).
 * - `Contention`: another writer held the same key (a transaction conflict, or a
 *   document that kept changing under an optimistic write). Not throttling: the
 *   table has capacity, the key is busy.
 * - `Unavailable`: 5xx or a network error. `Timeout`: the call did not answer in time.
 * - `AccessDenied`, `NotFound`, `Invalid` (any other 4xx), `Unknown`: not retryable.
 */
export type Reason =
  | "Throttled"
  | "Contention"
  | "Unavailable"
  | "Timeout"
  | "AccessDenied"
  | "NotFound"
  | "Invalid"
  | "Unknown"

/** Every {@link Reason}, in the order above. */
export const reasons: ReadonlyArray<Reason> = [
  "Throttled",
  "Contention",
  "Unavailable",
  "Timeout",
  "AccessDenied",
  "NotFound",
  "Invalid",
  "Unknown",
]

const retryableReasons: ReadonlySet<string> = new Set<Reason>(["Throttled", "Contention", "Unavailable", "Timeout"])

/** Whether a failure of this reason is worth another attempt. Reasons outside {@link Reason} never are. */
export const isRetryable = (reason: string): boolean => retryableReasons.has(reason)

/** The fields every {@link Remote} error carries. */
export interface RemoteFields {
  readonly reason: string
}

/**
 * The base class of a tagged error that reports a failed remote call: like
 * `Data.TaggedError(tag)`, plus a `retryable` getter read off `reason`.
 */
export const Remote = <Tag extends string>(
  tag: Tag,
): (new <A extends RemoteFields>(
  args: { readonly [P in keyof A as P extends "_tag" ? never : P]: A[P] },
) => Cause.YieldableError & { readonly _tag: Tag; readonly retryable: boolean } & Readonly<A>) => {
  class Base extends Data.TaggedError(tag)<RemoteFields> {
    get retryable(): boolean {
      return isRetryable(this.reason)
    }
  }
  return Base as never
}

/**
 * The tail of an error message for a cause: `": Name: message"` for an `Error`,
 * `": text"` for a string or an object with a string `message`, nothing otherwise.
 */
export const causeText = (cause: unknown): string => {
  if (cause instanceof Error) return `: ${cause.name}: ${cause.message}`
  if (typeof cause === "string") return `: ${cause}`
  const message = (cause as { message?: unknown } | undefined)?.message
  return typeof message === "string" ? `: ${message}` : ""
}

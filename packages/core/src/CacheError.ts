/**
 * The errors of the {@link DocumentCache} port, in a module of their own so the
 * port, its backends and the internal write and query rules can all import them
 * without importing each other. `DocumentCache` re-exports each.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as DocketError from "./DocketError.js"

/**
 * The cache could not be reached or answered with an error: throttled, busy
 * (`Contention`), unavailable, timed out, denied, or returned an item Docket
 * cannot read (`Corrupt`).
 */
export class CacheError extends DocketError.Remote("CacheError")<{
  readonly reason: DocketError.Reason | "Corrupt"
  readonly operation: string
  /** The document key (`kind/id`) or the query range concerned. */
  readonly key: string
  readonly cause?: unknown
}> {
  override get message() {
    return `DynamoDB ${this.operation} on ${this.key} failed (${this.reason})${DocketError.causeText(this.cause)}`
  }
}

/** A write lost to a newer (or different) version already in the cache. */
export class StaleWriteError extends Data.TaggedError("StaleWriteError")<{
  /** `kind/id`. */
  readonly key: string
  readonly attemptedVersion: number
  readonly storedVersion: number
  readonly reason: "OlderVersion" | "SameVersionDifferentContent"
}> {
  readonly retryable = false
  override get message() {
    return this.reason === "OlderVersion"
      ? `${this.key}: version ${this.attemptedVersion} is older than the cached version ${this.storedVersion}`
      : `${this.key}: version ${this.attemptedVersion} is already cached with different content; bump the version`
  }
}

/** A conditional write's condition did not hold: somebody else changed the key first. */
export class ConditionFailedError extends Data.TaggedError("ConditionFailedError")<{
  readonly key: string
  readonly operation: string
  readonly condition: string
}> {
  readonly retryable = false
  override get message() {
    return `${this.operation} on ${this.key} skipped: the cache no longer matches (${this.condition})`
  }
}

/** A query that cannot be run: bad range, unknown kind or status. */
export class InvalidQueryError extends Data.TaggedError("InvalidQueryError")<{
  readonly reason: "BadRange" | "UnknownKind" | "UnknownStatus" | "BadLimit" | "BadCustomer"
  readonly detail: string
}> {
  override get message() {
    return this.detail
  }
}

/** A page cursor that is malformed, tampered with, or from another query. */
export class CursorError extends Data.TaggedError("CursorError")<{
  readonly cursor: string
  readonly detail: string
}> {
  override get message() {
    return `Invalid cursor: ${this.detail}`
  }
}

/** The `condition` of a {@link ConditionFailedError}: the write was refused because the document carries a write intent. */
export const noIntentCondition = "no write intent"

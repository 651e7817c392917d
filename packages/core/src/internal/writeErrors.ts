/**
 * The errors and rollback outcomes of write-through (re-exported by
 * `WriteThrough.ts`), in their own module so the protocol's steps can build
 * them without an import cycle.
 */
import * as Data from "effect/Data"
import type * as DocumentCache from "../DocumentCache.js"
import type * as DocumentStore from "../DocumentStore.js"

/** How a rollback ended. */
export type Rollback =
  /** The cache holds exactly what it held before our write (our intent was cleared). */
  | "Restored"
  /** A newer write replaced ours in the cache first; it was left alone. */
  | "Superseded"
  /** S3's state could not be learned: the cache entry was removed instead (reads go to S3). */
  | "Evicted"

/**
 * The write's outcome could not be settled: S3's state after a failed put is
 * unknown, or the commit (or the clear of our intent) failed. The intent stays
 * and is resolved from S3 once its lease expires (within the lease plus one
 * sweep); reads show the committed state meanwhile, never an unconfirmed one.
 */
export class RollbackFailedError extends Data.TaggedError("RollbackFailedError")<{
  readonly operation: "write" | "delete"
  /** `kind/id`. */
  readonly key: string
  readonly s3Key: string
  /** What failed first. */
  readonly cause: DocumentStore.StoreError | DocumentCache.CacheError | DocumentCache.ConditionFailedError
  /** Why settling it failed. */
  readonly rollbackCause: DocumentCache.CacheError | DocumentStore.StoreError | DocumentCache.ConditionFailedError
}> {
  readonly retryable = false
  override get message() {
    return `${this.operation} of ${this.key} (${this.s3Key}): ${this.cause.message}; settling the cache failed too (${this.rollbackCause.message}): its intent is resolved from S3 when its lease expires`
  }
}

/**
 * Another writer holds the document (its live intent outlasted `DOCKET_WRITE_WAIT`),
 * or S3 changed behind the cache (a conditional S3 write was refused).
 */
export class WriteConflictError extends Data.TaggedError("WriteConflictError")<{
  readonly reason: "Contention" | "StoreChanged"
  readonly operation: "write" | "delete"
  /** `kind/id`. */
  readonly key: string
  /** The version the other writer is writing (`Contention`), or the one S3 holds (`StoreChanged`), when known. */
  readonly otherVersion: number | undefined
  /** The other writer's id (`Contention`). */
  readonly otherWriter?: string
  readonly waitedMillis: number
}> {
  readonly retryable = true
  override get message() {
    const other = this.otherVersion === undefined ? "" : ` (version ${this.otherVersion})`
    return this.reason === "Contention"
      ? `${this.operation} of ${this.key}: another writer is writing it${other}; still busy after ${this.waitedMillis} ms (DOCKET_WRITE_WAIT)`
      : `${this.operation} of ${this.key}: S3 changed behind the cache${other}; nothing was written`
  }
}

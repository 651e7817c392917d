/**
 * What a write-through write or delete did: `WriteThrough` re-exports these, and
 * its steps (`writeSteps.ts`) build them, so neither imports the other for them.
 */
import type * as Option from "effect/Option"
import type * as CacheEntry from "../CacheEntry.js"
import type * as DocumentStore from "../DocumentStore.js"
import type { Rollback } from "./writeErrors.js"

/** What a write did. */
export type WriteResult =
  | {
      readonly _tag: "Written"
      /** `kind/id`. */
      readonly key: string
      readonly s3Key: string
      readonly version: number
      readonly etag: string
      /** The cache entry our write replaced (None with the cache off). */
      readonly previous: Option.Option<CacheEntry.Entry>
      /** True when the cache already had this version but S3 did not: S3 was written again. */
      readonly repaired: boolean
    }
  | { readonly _tag: "Unchanged"; readonly key: string; readonly s3Key: string; readonly version: number }
  | {
      readonly _tag: "RolledBack"
      readonly key: string
      readonly s3Key: string
      readonly version: number
      /** Why S3 did not take the write (after its retries). */
      readonly cause: DocumentStore.StoreError
      readonly rollback: Rollback
    }
  | {
      readonly _tag: "DryRun"
      readonly key: string
      readonly s3Key: string
      readonly version: number
      /** What would happen, in order. */
      readonly actions: ReadonlyArray<string>
    }

/** What a delete did. */
export type DeleteResult =
  | {
      readonly _tag: "Deleted"
      readonly key: string
      readonly s3Key: string
      readonly previous: Option.Option<CacheEntry.Entry>
    }
  | {
      readonly _tag: "RolledBack"
      readonly key: string
      readonly s3Key: string
      readonly cause: DocumentStore.StoreError
      readonly rollback: Rollback
    }
  | { readonly _tag: "DryRun"; readonly key: string; readonly s3Key: string; readonly actions: ReadonlyArray<string> }

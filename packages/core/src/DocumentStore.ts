/**
 * The `DocumentStore` port: S3, the source of truth. The S3 backend is in
 * `DocumentStore/S3.ts`; a memory layer that behaves the same (one contract
 * suite runs against both) is in this module.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type * as Document from "./Document.js"
import type * as DocumentKind from "./DocumentKind.js"
import type * as Retry from "./Retry.js"

/** S3 could not be reached or refused a call. */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: Retry.FailureReason | "TooLarge"
  readonly operation: string
  /** The S3 key (or prefix) concerned. */
  readonly key: string
  readonly cause?: unknown
}> {
  get retryable(): boolean {
    return this.reason === "Throttled" || this.reason === "Unavailable" || this.reason === "Timeout"
  }
  override get message() {
    const cause = this.cause instanceof Error ? `: ${this.cause.name}: ${this.cause.message}` : ""
    return `S3 ${this.operation} on ${JSON.stringify(this.key)} failed (${this.reason})${cause}`
  }
}

/** The object metadata Docket writes, so listings can filter without reading bodies. */
export interface ObjectMetadata {
  readonly kind: string
  readonly id: string
  readonly version: number
  /** The indexing time, normalised UTC instant. */
  readonly time: string
  readonly customers: ReadonlyArray<string>
  readonly status: string
}

/** A document read from S3. */
export interface StoredDocument {
  readonly key: string
  readonly document: Document.AnyDocument
  readonly etag: string
  readonly lastModified: Date | undefined
}

/** What a HEAD or a listing tells about an object. */
export interface ObjectInfo {
  readonly key: string
  readonly etag: string
  readonly size: number
  readonly lastModified: Date | undefined
  /** Docket's metadata, when the object carries it (objects written by others may not). */
  readonly metadata: Option.Option<ObjectMetadata>
}

/** The DocumentStore service. */
export interface Service {
  /** The S3 key of a document. */
  readonly keyOf: (kind: string, id: string) => string
  /** Writes the JSON body with content type and {@link ObjectMetadata}. */
  readonly put: (
    document: Document.AnyDocument,
  ) => Effect.Effect<{ readonly key: string; readonly etag: string }, StoreError>
  /** Reads and decodes a document; `None` when there is no object. */
  readonly get: (
    kind: string,
    id: string,
  ) => Effect.Effect<Option.Option<StoredDocument>, StoreError | DocumentKind.DocumentDecodeError>
  /** Reads and decodes the object at `key` (decoded, not URL-encoded). */
  readonly getKey: (
    key: string,
  ) => Effect.Effect<Option.Option<StoredDocument>, StoreError | DocumentKind.DocumentDecodeError>
  /** HEAD of an object; `None` when there is none. */
  readonly head: (key: string) => Effect.Effect<Option.Option<ObjectInfo>, StoreError>
  /** Deletes a document's object. Idempotent. */
  readonly delete: (kind: string, id: string) => Effect.Effect<void, StoreError>
  /**
   * Every object under the document prefix (or `prefix` under it), page by page.
   * Listings carry no user metadata: `metadata` is `None`; use {@link Service.head}.
   */
  readonly list: (options?: {
    readonly prefix?: string
    readonly startAfter?: string
  }) => Stream.Stream<ObjectInfo, StoreError>
}

/** The DocumentStore service tag. */
export class DocumentStore extends Context.Tag("@docket/core/DocumentStore")<DocumentStore, Service>() {}

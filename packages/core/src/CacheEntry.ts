/**
 * What the cache holds for one document, whatever the backend: a cached
 * document (its body, or a pointer to S3 when the body is too large) or a
 * tombstone, with its provenance, and the retention rule that decides when an
 * entry stops answering (DESIGN section 4).
 *
 * The workflows and the `DocumentCache` port speak in these types; how an entry
 * is laid out in DynamoDB items is the DynamoDB backend's business (`Items`).
 *
 * @since 0.1.0
 */
import type * as Document from "./Document.js"

/** Where a cached document came from, for conditional writes and event sync. */
export interface Provenance {
  /** The S3 ETag of the object this entry was read from or written to. */
  readonly etag?: string
  /** The normalised S3 event sequencer last applied (see S3EventSync). */
  readonly sequencer?: string
}

/** A cached document, with its body or a pointer to it. */
export interface CachedDocument extends Provenance {
  readonly _tag: "Cached"
  readonly summary: Document.Summary
  /** The document; absent when the item holds a pointer (body over the item limit). */
  readonly document: Document.AnyDocument | undefined
  readonly s3Key: string
  readonly expiresAt: number
}

/** What is left after a delete: keeps a late event from resurrecting the document. */
export interface Tombstone extends Provenance {
  readonly _tag: "Tombstone"
  readonly kind: string
  readonly id: string
  readonly expiresAt: number
}

/** What the cache holds for a key. */
export type Entry = CachedDocument | Tombstone

/**
 * The retention rule: `expiresAt` (epoch seconds) is the indexing time plus
 * `retentionDays`. The document stays in S3; the cache only stops answering for it.
 */
export const expiresAt = (time: string, retentionDays: number): number =>
  Math.floor(Date.parse(time) / 1000) + Math.round(retentionDays * 86_400)

/** Whether an entry with `expiresAt` is expired at `nowMillis` (DynamoDB deletes late; we filter). */
export const isExpired = (expiresAtSeconds: number | undefined, nowMillis: number): boolean =>
  expiresAtSeconds !== undefined && expiresAtSeconds * 1000 <= nowMillis

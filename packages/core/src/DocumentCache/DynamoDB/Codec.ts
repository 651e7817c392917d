/**
 * The item codec of the DynamoDB backend beyond `Items`: a document's items
 * with their content hash, the items that restore an entry, and the write
 * protocol's intent attributes (names from `Table.intentAttributes`).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as CacheEntry from "../../CacheEntry.js"
import type * as Document from "../../Document.js"
import type { Intent } from "../../DocumentCache.js"
import { CacheError } from "../../DocumentCache.js"
import type * as DocumentKind from "../../DocumentKind.js"
import * as Items from "../../Items.js"
import * as Write from "../../internal/write.js"
import * as Table from "../../Table.js"
import { N, S } from "./Call.js"

const A = Table.intentAttributes

/** Revision attribute: a new random value on every write of the document item. */
export const rev = "rev"

/** Content hash attribute: tells a same-version rewrite from another content. */
export const contentHash = "contentHash"

/** What the item layout depends on: the kinds, the retention, the status index shards. */
export interface Layout {
  readonly registry: DocumentKind.Registry
  readonly retentionDays: number
  readonly statusShards: number
}

/**
 * A document's items, the document item carrying its content hash (`hash`, when the caller
 * has it already: `Write.contentHash(document)`, a canonical JSON and a SHA-256 per document).
 */
export const documentItems = (
  layout: Layout,
  document: Document.AnyDocument,
  provenance: CacheEntry.Provenance & { s3Key: string },
  expires?: number,
  hash: string = Write.contentHash(document),
): { readonly document: Items.Item; readonly customers: ReadonlyArray<Items.Item> } => {
  const items = Items.toItems(document, layout.registry, {
    ...provenance,
    retentionDays: layout.retentionDays,
    statusShards: layout.statusShards,
  })
  const withExpiry = (item: Items.Item): Items.Item =>
    expires === undefined ? item : { ...item, expiresAt: N(expires) }
  return {
    document: withExpiry({ ...items.document, [contentHash]: S(hash) }),
    customers: items.customers.map(withExpiry),
  }
}

/** The items of an entry (to restore it): from its body, or from its summary when it holds a pointer. */
export const entryItems = (
  layout: Layout,
  entry: CacheEntry.Entry,
): { readonly document: Items.Item; readonly customers: ReadonlyArray<Items.Item> } => {
  const provenance = {
    ...(entry.etag !== undefined ? { etag: entry.etag } : {}),
    ...(entry.sequencer !== undefined ? { sequencer: entry.sequencer } : {}),
  }
  if (entry._tag === "Tombstone") {
    return { document: Items.tombstoneItem(entry.kind, entry.id, entry.expiresAt, provenance), customers: [] }
  }
  if (entry.document !== undefined) {
    return documentItems(layout, entry.document, { s3Key: entry.s3Key, ...provenance }, entry.expiresAt)
  }
  const s = entry.summary
  const summary: Items.Item = {
    kind: S(s.kind),
    id: S(s.id),
    version: N(s.version),
    title: S(s.title),
    status: S(s.status),
    customers: { L: s.customers.map(S) },
    time: S(s.time),
    expiresAt: N(entry.expiresAt),
  }
  const pk = S(Items.documentPk(s.kind, s.id))
  const sortKey = S(Items.timeSortKey(s.time, s.kind, s.id))
  return {
    document: {
      pk,
      sk: S(Items.documentSk),
      ...summary,
      s3Key: S(entry.s3Key),
      pointer: { BOOL: true },
      timePk: S(Items.timeBucket(s.time)),
      timeSk: sortKey,
      statusPk: S(Items.statusPkOf(s.kind, s.status, s.id, layout.statusShards)),
      statusSk: S(Items.statusSortKey(s.time, s.id)),
      ...(entry.etag !== undefined ? { etag: S(entry.etag) } : {}),
      ...(entry.sequencer !== undefined ? { sequencer: S(entry.sequencer) } : {}),
    },
    customers: s.customers.map((code) => ({
      pk,
      sk: S(Items.customerSk(code)),
      ...summary,
      custPk: S(Items.customerPk(code)),
      custSk: sortKey,
    })),
  }
}

/** The customer sort keys the committed entry's items have. */
export const customerSksOfEntry = (entry: Option.Option<CacheEntry.Entry>): ReadonlyArray<string> =>
  Option.match(entry, {
    onNone: () => [],
    onSome: (e) => (e._tag === "Cached" ? e.summary.customers.map(Items.customerSk) : []),
  })

/** The IntentIndex shard of a document: a stable hash of its partition key. */
export const intentShard = (pk: string): string => {
  let h = 0
  for (let i = 0; i < pk.length; i++) h = (h * 31 + pk.charCodeAt(i)) >>> 0
  return `I#${h % Table.intentShards}`
}

/** The IntentIndex sort key: the lease, zero-padded so that strings sort as numbers. */
export const intentSortKey = (leaseExpiresAt: number, kind: string, id: string): string =>
  `${String(Math.max(0, Math.floor(leaseExpiresAt))).padStart(15, "0")}#${kind}#${id}`

/** The attributes an intent sets on the document item (UpdateItem `SET` values by name). */
export const intentValues = (kind: string, id: string, intent: Intent): Items.Item => ({
  [A.writer]: S(intent.writer),
  [A.operation]: S(intent.operation),
  [A.s3Key]: S(intent.s3Key),
  [A.lease]: N(intent.leaseExpiresAt),
  [A.indexPartition]: S(intentShard(Items.documentPk(kind, id))),
  [A.indexSort]: S(intentSortKey(intent.leaseExpiresAt, kind, id)),
  ...(intent.version !== undefined ? { [A.version]: N(intent.version) } : {}),
  ...(intent.etag !== undefined ? { [A.etag]: S(intent.etag) } : {}),
})

/** Every intent attribute (what a commit or clear removes). */
export const intentAttributeNames: ReadonlyArray<string> = Object.values(A)

/** The intent an item carries, if any. */
export const intentOf = (item: Items.Item): Option.Option<Intent> => {
  const writer = item[A.writer]?.S
  const lease = item[A.lease]?.N
  const s3Key = item[A.s3Key]?.S
  if (writer === undefined || lease === undefined || s3Key === undefined) return Option.none()
  const version = item[A.version]?.N
  const etag = item[A.etag]?.S
  return Option.some({
    writer,
    operation: item[A.operation]?.S === "delete" ? "delete" : "put",
    s3Key,
    leaseExpiresAt: Number(lease),
    ...(version !== undefined ? { version: Number(version) } : {}),
    ...(etag !== undefined ? { etag } : {}),
  })
}

/**
 * Decodes a document item into its committed entry and intent. An item with
 * neither a summary nor a tombstone (only an intent) has no committed entry.
 */
export const decodeSlot = (
  registry: DocumentKind.Registry,
  operation: string,
  key: string,
  item: Option.Option<Items.Item>,
): Effect.Effect<Write.Slot, CacheError> => {
  if (Option.isNone(item)) return Effect.succeed({ committed: Option.none(), intent: Option.none() })
  const value = item.value
  const intent = intentOf(value)
  if (value.kind === undefined && value.tombstone === undefined) {
    return Effect.succeed({ committed: Option.none(), intent })
  }
  return Either.match(Items.fromDocumentItem(value, registry), {
    onLeft: (error) => Effect.fail(new CacheError({ reason: "Corrupt", operation, key, cause: error })),
    onRight: (entry) =>
      Effect.succeed<Write.Slot>({
        // Items of early releases carry no content hash: take it from the body, so the same document is
        // recognised as `Unchanged` (a pointer item without one compares as different content).
        committed: Option.some({
          entry,
          contentHash:
            value[contentHash]?.S ??
            (entry._tag === "Cached" && entry.document !== undefined ? Write.contentHash(entry.document) : undefined),
        }),
        intent,
      }),
  })
}

/**
 * The codec between documents and DynamoDB items (DESIGN section 4): one
 * document item (`DOC#{kind}#{id}` / `DOC`) carrying the body, the time and
 * status index keys, and one customer item (`CUST#{code}`) per customer carrying
 * the customer index keys and the summary projection.
 *
 * Also the item-size rule: a document item over DynamoDB's 400 KB limit keeps
 * its summary and a pointer to S3, never a truncated body. The entries it
 * decodes to, and the retention rule, are backend-neutral: `CacheEntry`; the
 * key layout (partition and sort keys, status shards, time buckets) is the
 * table's: `Table`, re-exported here. The memory layer reads `Table`, never
 * this module: the AttributeValue codec belongs to the DynamoDB backend.
 *
 * @since 0.1.0
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as CacheEntry from "./CacheEntry.js"
import type * as Document from "./Document.js"
import type * as DocumentKind from "./DocumentKind.js"
import * as Table from "./Table.js"
import {
  customerPk,
  customerSk,
  documentPk,
  documentSk,
  statusPkOf,
  statusSortKey,
  timeBucket,
  timeSortKey,
} from "./Table.js"

/** A DynamoDB item in the wire format of the SDK. */
export type Item = Record<string, AttributeValue>

/** DynamoDB's item size limit: 400 KB. */
export const MaxItemBytes = 400 * 1024

/** The key layout, re-exported from `Table` (where the memory layer reads it too). */
export {
  customerPk,
  customerSk,
  documentPk,
  documentSk,
  parseDocumentPk,
  statusPartitions,
  statusPk,
  statusPkOf,
  statusShard,
  statusSortKey,
  timeBucket,
  timeBuckets,
  timeSortKey,
} from "./Table.js"

/** Options of {@link toItems}. */
export interface ToItemsOptions extends CacheEntry.Provenance {
  readonly s3Key: string
  readonly retentionDays: number
  /** Defaults to {@link MaxItemBytes}; tests lower it. */
  readonly maxItemBytes?: number
  /** Status index shards; defaults to `Table.statusShards`. */
  readonly statusShards?: number
}

/** The items of one document. */
export interface DocumentItems {
  readonly document: Item
  readonly customers: ReadonlyArray<Item>
  /** True when the body did not fit and the document item holds a pointer. */
  readonly pointer: boolean
}

const S = (s: string): AttributeValue => ({ S: s })
const N = (n: number): AttributeValue => ({ N: String(n) })

const summaryItem = (summary: Document.Summary, expires: number): Item => ({
  kind: S(summary.kind),
  id: S(summary.id),
  version: N(summary.version),
  title: S(summary.title),
  status: S(summary.status),
  customers: { L: summary.customers.map(S) },
  time: S(summary.time),
  expiresAt: N(expires),
})

/** Encodes a document into its document item and customer items. */
export const toItems = (
  document: Document.AnyDocument,
  registry: DocumentKind.Registry,
  options: ToItemsOptions,
): DocumentItems => {
  const summary = registry.summarize(document)
  const expires = CacheEntry.expiresAt(summary.time, options.retentionDays)
  const pk = documentPk(summary.kind, summary.id)
  const base: Item = {
    pk: S(pk),
    sk: S(documentSk),
    ...summaryItem(summary, expires),
    s3Key: S(options.s3Key),
    timePk: S(timeBucket(summary.time)),
    timeSk: S(timeSortKey(summary.time, summary.kind, summary.id)),
    statusPk: S(statusPkOf(summary.kind, summary.status, summary.id, options.statusShards ?? Table.statusShards)),
    statusSk: S(statusSortKey(summary.time, summary.id)),
    ...(options.etag !== undefined ? { etag: S(options.etag) } : {}),
    ...(options.sequencer !== undefined ? { sequencer: S(options.sequencer) } : {}),
  }
  const withBody: Item = { ...base, body: S(JSON.stringify(document)) }
  const limit = options.maxItemBytes ?? MaxItemBytes
  // The bound encodes nothing; only an item it cannot clear is measured (the same verdict as measuring all).
  const pointer = itemSizeBound(withBody) > limit && itemSize(withBody) > limit
  return {
    document: pointer ? { ...base, pointer: { BOOL: true } } : withBody,
    customers: summary.customers.map((code) => ({
      pk: S(pk),
      sk: S(customerSk(code)),
      ...summaryItem(summary, expires),
      custPk: S(customerPk(code)),
      custSk: S(timeSortKey(summary.time, summary.kind, summary.id)),
    })),
    pointer,
  }
}

/** The document item of a tombstone. */
export const tombstoneItem = (
  kind: string,
  id: string,
  expires: number,
  provenance: CacheEntry.Provenance = {},
): Item => ({
  pk: S(documentPk(kind, id)),
  sk: S(documentSk),
  kind: S(kind),
  id: S(id),
  tombstone: { BOOL: true },
  expiresAt: N(expires),
  ...(provenance.etag !== undefined ? { etag: S(provenance.etag) } : {}),
  ...(provenance.sequencer !== undefined ? { sequencer: S(provenance.sequencer) } : {}),
})

/** A DynamoDB item that is not what Docket wrote. */
export class ItemDecodeError extends Data.TaggedError("ItemDecodeError")<{
  readonly key: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return `Cache item ${this.key} is unreadable: ${this.detail}`
  }
}

const str = (item: Item, name: string): string | undefined => item[name]?.S
const num = (item: Item, name: string): number | undefined => {
  const n = item[name]?.N
  return n === undefined ? undefined : Number(n)
}

/** Reads the summary projection of any Docket item (document, customer or index result). */
export const summaryFromItem = (
  item: Item,
): Either.Either<Document.Summary & { expiresAt: number }, ItemDecodeError> => {
  const kind = str(item, "kind")
  const id = str(item, "id")
  const version = num(item, "version")
  const title = str(item, "title")
  const status = str(item, "status")
  const time = str(item, "time")
  const expires = num(item, "expiresAt")
  const customers = item.customers?.L?.map((c) => c.S)
  const key = str(item, "pk") ?? `${kind}/${id}`
  if (
    kind === undefined ||
    id === undefined ||
    version === undefined ||
    title === undefined ||
    status === undefined ||
    time === undefined ||
    expires === undefined ||
    customers === undefined ||
    customers.some((c) => c === undefined)
  ) {
    return Either.left(new ItemDecodeError({ key, detail: "missing summary attributes" }))
  }
  return Either.right({
    kind,
    id,
    version,
    title,
    status,
    time,
    customers: customers as Array<string>,
    expiresAt: expires,
  })
}

const missingSummary = (item: Item) =>
  new ItemDecodeError({
    key: str(item, "pk") ?? `${str(item, "kind")}/${str(item, "id")}`,
    detail: "missing summary attributes",
  })

/** What {@link liveSummaryFromItem} returns for an expired item: no summary, no error. */
const expired: Either.Either<undefined, never> = Either.right(undefined)

/**
 * The summary of an index result when it is live at `nowMillis`, in one walk over the item:
 * the fields read and checked, the expiry compared (`undefined` when expired, as
 * `CacheEntry.isExpired` says), the summary built once without its `expiresAt`. The same
 * decisions as {@link summaryFromItem} then the expiry check, without the intermediate object:
 * the query path's per-item step.
 */
export const liveSummaryFromItem = (
  item: Item,
  nowMillis: number,
): Either.Either<Document.Summary | undefined, ItemDecodeError> => {
  const kind = item.kind?.S
  const id = item.id?.S
  const version = item.version?.N
  const title = item.title?.S
  const status = item.status?.S
  const time = item.time?.S
  const expires = item.expiresAt?.N
  const list = item.customers?.L
  if (
    kind === undefined ||
    id === undefined ||
    version === undefined ||
    title === undefined ||
    status === undefined ||
    time === undefined ||
    expires === undefined ||
    list === undefined
  ) {
    return Either.left(missingSummary(item))
  }
  const customers: Array<string> = new Array(list.length)
  for (let i = 0; i < list.length; i++) {
    const code = (list[i] as AttributeValue).S
    if (code === undefined) return Either.left(missingSummary(item))
    customers[i] = code
  }
  if (CacheEntry.isExpired(Number(expires), nowMillis)) return expired
  return Either.right({ kind, id, version: Number(version), title, status, customers, time })
}

/** Decodes a document item (as GetItem returns it) into an entry (`CacheEntry.Entry`). */
export const fromDocumentItem = (
  item: Item,
  registry: DocumentKind.Registry,
): Either.Either<CacheEntry.Entry, ItemDecodeError> => {
  const key = str(item, "pk") ?? "(no pk)"
  const provenance: { etag?: string; sequencer?: string } = {}
  const etag = str(item, "etag")
  const sequencer = str(item, "sequencer")
  if (etag !== undefined) provenance.etag = etag
  if (sequencer !== undefined) provenance.sequencer = sequencer
  if (item.tombstone?.BOOL === true) {
    const kind = str(item, "kind")
    const id = str(item, "id")
    const expires = num(item, "expiresAt")
    if (kind === undefined || id === undefined || expires === undefined) {
      return Either.left(new ItemDecodeError({ key, detail: "tombstone without kind, id or expiresAt" }))
    }
    return Either.right({ _tag: "Tombstone", kind, id, expiresAt: expires, ...provenance })
  }
  return Either.flatMap(summaryFromItem(item), ({ expiresAt: expires, ...summary }) => {
    const s3Key = str(item, "s3Key")
    if (s3Key === undefined) return Either.left(new ItemDecodeError({ key, detail: "missing s3Key" }))
    const body = str(item, "body")
    if (body === undefined) {
      if (item.pointer?.BOOL !== true)
        return Either.left(new ItemDecodeError({ key, detail: "neither body nor pointer" }))
      return Either.right({ _tag: "Cached", summary, document: undefined, s3Key, expiresAt: expires, ...provenance })
    }
    return Either.map(
      Either.mapLeft(
        registry.decodeJson(body, `cache ${key}`),
        (cause) => new ItemDecodeError({ key, detail: cause.message, cause }),
      ),
      (document): CacheEntry.Entry => ({ _tag: "Cached", summary, document, s3Key, expiresAt: expires, ...provenance }),
    )
  })
}

const utf8 = (s: string): number => Buffer.byteLength(s, "utf8")

const valueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return utf8(value.S)
  if (value.N !== undefined) {
    const digits = value.N.replace(/^-/, "").replace(/\./, "").replace(/^0+/, "").replace(/0+$/, "")
    return Math.min(21, Math.ceil(Math.max(digits.length, 1) / 2) + 1)
  }
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1
  if (value.B !== undefined) return value.B.byteLength
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + 1 + valueSize(v), 0)
  if (value.M !== undefined) {
    return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + 1 + utf8(k) + valueSize(v), 0)
  }
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + utf8(s), 0)
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + valueSize({ N: s }), 0)
  return 0
}

/**
 * The size DynamoDB charges an item against its 400 KB limit: attribute names
 * plus values (UTF-8 strings; numbers by significant digits; lists and maps with
 * their overhead). Errs on the large side.
 */
export const itemSize = (item: Item): number =>
  Object.entries(item).reduce((n, [name, value]) => n + utf8(name) + valueSize(value), 0)

/**
 * An upper bound of {@link itemSize} that encodes nothing: a UTF-16 code unit is at most 3 bytes
 * of UTF-8 and a number at most 21 bytes. {@link toItems} measures an item exactly only when this
 * bound is over the limit, which for most documents it is not by far.
 */
export const itemSizeBound = (item: Item): number => {
  let n = 0
  for (const name of Object.keys(item)) n += 3 * name.length + valueBound(item[name] as AttributeValue)
  return n
}

const valueBound = (value: AttributeValue): number => {
  if (value.S !== undefined) return 3 * value.S.length
  if (value.N !== undefined) return 21
  if (value.L !== undefined) {
    let n = 3
    for (const v of value.L) n += 1 + valueBound(v)
    return n
  }
  if (value.M !== undefined) {
    let n = 3
    for (const k of Object.keys(value.M)) n += 1 + 3 * k.length + valueBound(value.M[k] as AttributeValue)
    return n
  }
  return valueSize(value)
}

/**
 * The one definition of Docket's DynamoDB table (DESIGN section 4): keys, the
 * three global secondary indexes, the TTL attribute and billing. The local stack
 * creates its table from it and the Terraform is checked against it.
 *
 * @since 0.1.0
 */
import type { CreateTableCommandInput, Tag } from "@aws-sdk/client-dynamodb"
import { stableHash } from "./internal/hash.js"

/** Attributes of the summary projection that every index carries. */
export const summaryAttributes = ["kind", "id", "version", "title", "status", "customers", "time", "expiresAt"] as const

/**
 * Attributes of the write protocol on a document item (DESIGN section 6): the
 * intent of the writer that holds the document, and `rev`, a random revision
 * every write of the item changes (the guard of a read-then-write).
 */
export const intentAttributes = {
  writer: "intentWriter",
  operation: "intentOp",
  version: "intentVersion",
  etag: "intentEtag",
  s3Key: "intentS3Key",
  lease: "intentLease",
  /** IntentIndex partition: `I#{shard}`. */
  indexPartition: "intentPk",
  /** IntentIndex sort key: the lease (epoch ms, 15 digits) then `#{kind}#{id}`. */
  indexSort: "intentSk",
} as const

/** Attributes of the intents index projection. */
export const intentProjection = [
  intentAttributes.writer,
  intentAttributes.operation,
  intentAttributes.version,
  intentAttributes.etag,
  intentAttributes.s3Key,
  intentAttributes.lease,
] as const

/** Shards of the intents index partition (`I#0` .. `I#7`): spreads intent writes over partitions. */
export const intentShards = 8

/**
 * Shards of each status index partition (`S#{kind}#{status}#{shard}`, DESIGN section 6):
 * a bulk load of one status spreads its index writes over this many partition keys
 * (DynamoDB allows about 1,000 writes/s per key), and a status query reads them all
 * in parallel and merges them in order. 1 is the unsharded layout (`S#{kind}#{status}`).
 * Chosen by the `status-shards` benchmark: 8 shards put at most ~13% of a one-status
 * load on one key (about 7,500 documents/s before a key throttles), for 8 Queries a page.
 * Changing it re-indexes through backfill (docs/backfill-at-scale.md, "Status index shards").
 */
export const statusShards = 8

/** A global secondary index of the table. */
export interface IndexDefinition {
  readonly name: "TimeRangeIndex" | "CustomerTimeIndex" | "StatusTimeIndex" | "IntentIndex"
  readonly partitionKey: string
  readonly sortKey: string
  readonly projection: { readonly type: "INCLUDE"; readonly nonKeyAttributes: ReadonlyArray<string> }
}

/** The table definition. */
export const definition = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  billingMode: "PAY_PER_REQUEST",
  /** Shards of a status index partition: {@link statusShards}. */
  statusShards,
  indexes: [
    {
      name: "TimeRangeIndex",
      partitionKey: "timePk",
      sortKey: "timeSk",
      projection: { type: "INCLUDE", nonKeyAttributes: summaryAttributes },
    },
    {
      name: "CustomerTimeIndex",
      partitionKey: "custPk",
      sortKey: "custSk",
      projection: { type: "INCLUDE", nonKeyAttributes: summaryAttributes },
    },
    {
      name: "StatusTimeIndex",
      partitionKey: "statusPk",
      sortKey: "statusSk",
      projection: { type: "INCLUDE", nonKeyAttributes: summaryAttributes },
    },
    {
      // Sparse: only document items that carry an intent have `intentPk`. The sweep reads it
      // (`docket heal`), never the table.
      name: "IntentIndex",
      partitionKey: intentAttributes.indexPartition,
      sortKey: intentAttributes.indexSort,
      projection: { type: "INCLUDE", nonKeyAttributes: intentProjection },
    },
  ] satisfies ReadonlyArray<IndexDefinition>,
} as const

export type IndexName = (typeof definition.indexes)[number]["name"]

/** The definition of index `name`. */
export const index = <N extends IndexName>(name: N): Extract<(typeof definition.indexes)[number], { name: N }> =>
  definition.indexes.find((i) => i.name === name) as Extract<(typeof definition.indexes)[number], { name: N }>

/** Every key attribute (table and indexes); all are strings. */
export const keyAttributes: ReadonlyArray<string> = [
  definition.partitionKey,
  definition.sortKey,
  ...definition.indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
]

/** The CreateTable input for `tableName`, with optional cost tags. */
export const createTableInput = (
  tableName: string,
  tags: Readonly<Record<string, string>> = {},
): CreateTableCommandInput => {
  const tagList: Array<Tag> = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
  return {
    TableName: tableName,
    BillingMode: definition.billingMode,
    AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: "S" })),
    KeySchema: [
      { AttributeName: definition.partitionKey, KeyType: "HASH" },
      { AttributeName: definition.sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: definition.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: "HASH" },
        { AttributeName: index.sortKey, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: index.projection.type, NonKeyAttributes: [...index.projection.nonKeyAttributes] },
    })),
    ...(tagList.length > 0 ? { Tags: tagList } : {}),
  }
}

// ---------------------------------------------------------------------------
// The key layout: the partition and sort keys of the table and its indexes
// (DESIGN section 4). Plain strings, no SDK type: the DynamoDB backend writes
// them (`Items`) and the memory layer keys its map and orders its status
// shards by them, so both answer alike.
// ---------------------------------------------------------------------------

/** The partition key of every item of a document. */
export const documentPk = (kind: string, id: string): string => `DOC#${kind}#${id}`

/** The kind and id of a document partition key; `undefined` when it is not one. */
export const parseDocumentPk = (pk: string): { readonly kind: string; readonly id: string } | undefined => {
  const match = /^DOC#([^#]+)#(.+)$/.exec(pk)
  return match === null ? undefined : { kind: match[1] as string, id: match[2] as string }
}

/** The sort key of the document item. */
export const documentSk = "DOC"

/** The sort key of a customer item. */
export const customerSk = (code: string): string => `CUST#${code}`

/** The TimeRangeIndex partition of an instant: its UTC month, `T#YYYY-MM`. */
export const timeBucket = (instant: string): string => `T#${instant.slice(0, 7)}`

/** The TimeRangeIndex and CustomerTimeIndex sort key. */
export const timeSortKey = (time: string, kind: string, id: string): string => `${time}#${kind}#${id}`

/** The CustomerTimeIndex partition. */
export const customerPk = (code: string): string => `C#${code}`

/**
 * The StatusTimeIndex shard of a document: a stable hash of its key, modulo
 * `shards`. Always 0 when `shards` is 1.
 */
export const statusShard = (kind: string, id: string, shards: number): number =>
  shards <= 1 ? 0 : stableHash(documentPk(kind, id)) % shards

/**
 * A StatusTimeIndex partition: `S#{kind}#{status}#{shard}`, or the unsharded
 * `S#{kind}#{status}` when the table has one shard (the layout before sharding).
 */
export const statusPk = (kind: string, status: string, shard: number, shards: number): string =>
  shards <= 1 ? `S#${kind}#${status}` : `S#${kind}#${status}#${shard}`

/** The StatusTimeIndex partition of one document. */
export const statusPkOf = (kind: string, status: string, id: string, shards: number): string =>
  statusPk(kind, status, statusShard(kind, id, shards), shards)

/** Every StatusTimeIndex partition of a status, shard 0 first. */
export const statusPartitions = (kind: string, status: string, shards: number): ReadonlyArray<string> =>
  Array.from({ length: Math.max(1, shards) }, (_, shard) => statusPk(kind, status, shard, shards))

/** The StatusTimeIndex sort key. */
export const statusSortKey = (time: string, id: string): string => `${time}#${id}`

/**
 * The months (`T#YYYY-MM` buckets) that intersect `[from, to)`, in order.
 * Both are normalised instants.
 */
export const timeBuckets = (from: string, to: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const end = new Date(to)
  let year = Number(from.slice(0, 4))
  let month = Number(from.slice(5, 7)) - 1
  for (;;) {
    const start = new Date(Date.UTC(year, month, 1))
    if (start.getTime() >= end.getTime()) break
    out.push(timeBucket(start.toISOString()))
    month += 1
    if (month === 12) {
      month = 0
      year += 1
    }
  }
  return out
}

/**
 * The one definition of Docket's DynamoDB table (DESIGN section 4): keys, the
 * three global secondary indexes, the TTL attribute and billing. The local stack
 * creates its table from it and the Terraform is checked against it.
 *
 * @since 0.1.0
 */
import type { CreateTableCommandInput, Tag } from "@aws-sdk/client-dynamodb"

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

/**
 * `status-shards`: a bulk load of documents that all have one status (20,000
 * completed changes; 2,000 in quick mode) through Docket's cache port, once with
 * the status index in `Table.statusShards` shards and once unsharded (1 shard),
 * on fresh tables of the same stack. The figure is the largest share of status
 * index writes that land on one partition key, read back from the index itself
 * (a Scan of StatusTimeIndex counting `statusPk`). DynamoDB Local enforces no
 * partition limit, so throughput here says nothing; this share is what decides
 * the cap on AWS, about 1,000 writes/s per partition key.
 */
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DynamoDB from "@docket/core/DocumentCache/DynamoDB"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as RateLimit from "@docket/core/RateLimit"
import * as S3Key from "@docket/core/S3Key"
import * as Table from "@docket/core/Table"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

const concurrency = 32
const registry = DocumentKind.defaultRegistry

/** `count` changes, all completed (the corpus's other fields and times as generated). */
const completedChanges = (count: number): ReadonlyArray<Document.Change> => {
  const out: Array<Document.Change> = []
  for (let seed = 5; out.length < count; seed++) {
    for (const doc of Corpus.generate({ count: count * 2, customers: 50, seed })) {
      if (doc.kind === "change" && out.length < count) {
        const id = `CHG-2026-${String(out.length + 1).padStart(6, "0")}`
        out.push({ ...doc, id, status: "completed" } as Document.Change)
      }
    }
  }
  return out
}

/** Index items per status partition key, from a Scan of the index (bounded by the pages `count` items need). */
const shares = async (iso: Harness.Isolated, count: number): Promise<Record<string, number>> => {
  const client = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 3 })
  const byKey: Record<string, number> = {}
  try {
    let start: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined
    for (let pages = 0; ; pages++) {
      if (pages > count) throw new Error(`StatusTimeIndex scan did not end within ${count} pages`)
      const out = await client.send(
        new ScanCommand({
          TableName: iso.table,
          IndexName: "StatusTimeIndex",
          ProjectionExpression: "statusPk",
          ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
        }),
      )
      for (const item of out.Items ?? []) {
        const key = item.statusPk?.S ?? "(none)"
        byKey[key] = (byKey[key] ?? 0) + 1
      }
      start = out.LastEvaluatedKey
      if (start === undefined) return byKey
    }
  } finally {
    client.destroy()
  }
}

const load = async (iso: Harness.Isolated, docs: ReadonlyArray<Document.Change>, statusShards: number) => {
  const layer = DynamoDB.layer({
    table: iso.table,
    retentionDays: 3650,
    client: iso.clientConfig.dynamodb,
    statusShards,
  }).pipe(Layer.provide(Layer.mergeAll(DocumentKind.layerDefault, RateLimit.layerUnlimited)))
  const kind = registry.get("change") as DocumentKind.DocumentKind<any>
  const started = performance.now()
  await Effect.runPromise(
    Effect.flatMap(DocumentCache.DocumentCache, (cache) =>
      Effect.forEach(docs, (doc) => cache.put(doc, { s3Key: S3Key.forDocument("", kind, doc.id) }), {
        concurrency,
        discard: true,
      }),
    ).pipe(Effect.provide(layer), Effect.provide(Harness.silentJsonLogger)),
  )
  const seconds = (performance.now() - started) / 1000
  const byKey = await shares(iso, docs.length)
  const total = Object.values(byKey).reduce((a, b) => a + b, 0)
  if (total !== docs.length) throw new Error(`${total} status index items for ${docs.length} documents`)
  const largest = Math.max(...Object.values(byKey))
  return {
    shards: statusShards,
    partitionKeys: Object.keys(byKey).length,
    largestShare: Math.round((largest / total) * 10_000) / 10_000,
    largestKeyWrites: largest,
    // The load's ceiling on AWS if one key takes ~1,000 writes/s.
    awsCeilingDocsPerSecond: Math.round(1000 / (largest / total)),
    localDocsPerSecond: Math.round(docs.length / seconds),
  }
}

const scenario: Harness.Scenario = {
  name: "status-shards",
  description: `A bulk load of 20,000 completed changes (2,000 quick) through DocumentCache.put, ${Table.statusShards} status index shards vs 1 (unsharded), fresh tables; the figure is the largest share of status index writes on one partition key (counted from a Scan of StatusTimeIndex). DynamoDB Local does not enforce partition limits: on AWS a key takes about 1,000 writes/s, so the share sets the ceiling of a one-status load. Ratio = largest share with shards / largest share unsharded.`,
  run: async (ctx) => {
    const count = ctx.quick ? 2_000 : 20_000
    const docs = completedChanges(count)
    const one = await load(await ctx.isolated("status-shards-1"), docs, 1)
    ctx.log(`  1 shard: largest share ${one.largestShare}, ${one.localDocsPerSecond} docs/s locally`)
    const many = await load(await ctx.isolated(`status-shards-${Table.statusShards}`), docs, Table.statusShards)
    ctx.log(
      `  ${Table.statusShards} shards: largest share ${many.largestShare}, ${many.localDocsPerSecond} docs/s locally`,
    )
    const ratio = Math.round((many.largestShare / one.largestShare) * 1000) / 1000
    // Within 20% of a perfectly even spread.
    const target = Math.round((1.2 / Table.statusShards) * 1000) / 1000
    return {
      baseline: { documents: count, ...one },
      docket: { documents: count, ...many },
      ratio,
      target,
      direction: "<=",
      criterion: `largest share of status index writes on one key, ${Table.statusShards} shards / 1 shard`,
      notes: `With ${Table.statusShards} shards a one-status load on AWS is capped near ${many.awsCeilingDocsPerSecond} documents/s by its hottest status key, against ${one.awsCeilingDocsPerSecond} unsharded; a status query reads ${Table.statusShards} partitions per kind in parallel.`,
    }
  },
}

export default scenario

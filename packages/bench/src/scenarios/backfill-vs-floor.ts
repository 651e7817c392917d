/**
 * `backfill-vs-floor`: documents per second of `Backfill.run` on a fresh bucket
 * (empty table) against a careful raw AWS SDK loop that gives the same
 * guarantees by hand: ListObjectsV2 pages; the listed ETags compared with the
 * table in BatchGetItem batches of 100 (unprocessed keys retried, bounded);
 * GetObject of what differs; the body validated against the kind's schema; one
 * TransactWriteItems per document writing the document item and its customer
 * items, conditional on no newer version being cached. Both at 16 documents in
 * flight, on equal copies of the same corpus, in alternating rounds on fresh tables.
 * A first warm-up round (a fifth of the corpus, each side on its own copy) is not
 * counted: the first run of each side in a process pays for its SDK clients' first
 * requests and the JIT, and was an outlier for both sides; four rounds are counted.
 *
 * The old naive raw loop (the former `backfill-vs-raw` scenario) runs in the same rounds as a
 * context row: what the guarantees cost, not a target.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  DynamoDBClient,
  type KeysAndAttributes,
  PutItemCommand,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb"
import { GetObjectCommand, paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3"
import * as Backfill from "@docket/core/Backfill"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as S3Key from "@docket/core/S3Key"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

const concurrency = 16
const registry = DocumentKind.defaultRegistry

/** The careful raw loop (exported for the canned backfill profile, profile/cannedBackfill.ts). */
export const floor = async (iso: Harness.Isolated): Promise<number> => {
  const s3 = new S3Client({ ...iso.clientConfig.s3, maxAttempts: 3 })
  const dynamodb = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 3 })
  let done = 0
  /** The cached ETag of each key, from BatchGetItem batches of 100; unprocessed keys asked again, at most 8 rounds. */
  const cachedEtags = async (refs: ReadonlyArray<{ kind: string; id: string }>) => {
    const found = new Map<string, string | undefined>()
    for (let i = 0; i < refs.length; i += 100) {
      let request: KeysAndAttributes | undefined = {
        Keys: refs.slice(i, i + 100).map((r) => ({ pk: { S: Items.documentPk(r.kind, r.id) }, sk: { S: "DOC" } })),
        ProjectionExpression: "pk, etag",
      }
      for (let round = 0; request !== undefined; round++) {
        if (round >= 8) throw new Error("BatchGetItem: keys still unprocessed after 8 rounds")
        const out: BatchGetItemCommandOutput = await dynamodb.send(
          new BatchGetItemCommand({ RequestItems: { [iso.table]: request } }),
        )
        for (const item of out.Responses?.[iso.table] ?? []) found.set(item.pk?.S ?? "", item.etag?.S)
        const left: KeysAndAttributes | undefined = out.UnprocessedKeys?.[iso.table]
        request = left?.Keys !== undefined && left.Keys.length > 0 ? left : undefined
        if (request !== undefined) await new Promise((r) => setTimeout(r, 50 * 2 ** round))
      }
    }
    return found
  }
  const write = async (key: string) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: key }))
    const body = (await object.Body?.transformToString()) ?? ""
    const decoded = registry.decodeJson(body, key)
    if (Either.isLeft(decoded)) throw decoded.left
    const document = decoded.right
    const items = Items.toItems(document, registry, {
      s3Key: key,
      retentionDays: 3650,
      ...(object.ETag !== undefined ? { etag: object.ETag } : {}),
    })
    const version: AttributeValue = { N: String(document.version) }
    await dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: iso.table,
              Item: items.document,
              ConditionExpression: "attribute_not_exists(pk) OR #v < :v",
              ExpressionAttributeNames: { "#v": "version" },
              ExpressionAttributeValues: { ":v": version },
            },
          },
          ...items.customers.map((Item) => ({ Put: { TableName: iso.table, Item } })),
        ],
      }),
    )
  }
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: iso.bucket })) {
      const listed = (page.Contents ?? []).flatMap((o) => {
        const parsed = S3Key.parse("", o.Key as string, registry)
        return Option.isSome(parsed) ? [{ key: o.Key as string, etag: o.ETag, ...parsed.value }] : []
      })
      const cached = await cachedEtags(listed)
      const todo = listed.filter((o) => {
        const etag = cached.get(Items.documentPk(o.kind, o.id))
        return etag === undefined || etag !== o.etag
      })
      await Harness.pool(todo, concurrency, async (object) => {
        await write(object.key)
        done += 1
      })
    }
  } finally {
    s3.destroy()
    dynamodb.destroy()
  }
  return done
}

/**
 * The old naive baseline, kept as a context row: list, GetObject, JSON.parse, one PutItem of the
 * document item. No ETag comparison, no validation, no customer items, no version condition: it
 * shows what the guarantees cost, not a target.
 */
const naive = async (iso: Harness.Isolated): Promise<number> => {
  const s3 = new S3Client({ ...iso.clientConfig.s3, maxAttempts: 3 })
  const dynamodb = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 3 })
  let done = 0
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: iso.bucket })) {
      const keys = (page.Contents ?? []).map((o) => o.Key as string)
      await Harness.pool(keys, concurrency, async (key) => {
        const object = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: key }))
        const document = JSON.parse((await object.Body?.transformToString()) ?? "{}")
        const items = Items.toItems(document, registry, { s3Key: key, retentionDays: 3650 })
        await dynamodb.send(new PutItemCommand({ TableName: iso.table, Item: items.document }))
        done += 1
      })
    }
  } finally {
    s3.destroy()
    dynamodb.destroy()
  }
  return done
}

const docket = async (iso: Harness.Isolated): Promise<number> => {
  const layer = Harness.docketLayer(iso, Harness.endpointsOf(iso))
  const summary = await Effect.runPromise(
    Backfill.run({ concurrency }).pipe(Effect.provide(layer), Effect.provide(Harness.silentJsonLogger)),
  )
  if (summary.failed > 0)
    throw new Error(`backfill failed on ${summary.failed} documents: ${summary.failures[0]?.message}`)
  return summary.written
}

const scenario: Harness.Scenario = {
  name: "backfill-vs-floor",
  description:
    "Documents per second on a fresh bucket: Backfill.run vs a careful raw SDK loop with the same guarantees (list; BatchGetItem ETag comparison per 100, unprocessed keys retried; GetObject; schema validation; one version-conditional TransactWriteItems with the customer items), both 16 in flight, four alternating rounds on fresh tables after a warm-up round that is not counted. Target: docket/floor >= 0.9.",
  run: async (ctx) => {
    const count = ctx.quick ? 600 : 2000
    const rounds = 4
    const documents = Corpus.generate({ count, customers: 50, seed: 13 })
    const warmUpDocuments = documents.slice(0, Math.ceil(count / 5))
    const rates = { floor: [] as Array<number>, docket: [] as Array<number>, naive: [] as Array<number> }
    const runners = { floor, docket, naive }
    // Round 0 is the warm-up: run, checked, logged, not counted.
    for (let round = 0; round <= rounds; round++) {
      const corpus = round === 0 ? warmUpDocuments : documents
      const copies = {
        floor: await ctx.isolated(`backfill-floor-${round}`),
        docket: await ctx.isolated(`backfill-docket-${round}`),
        naive: await ctx.isolated(`backfill-naive-${round}`),
      }
      await Promise.all(Object.values(copies).map((iso) => Corpus.loadBucket(iso.clientConfig, iso.bucket, corpus)))
      const order: Array<keyof typeof runners> =
        round % 2 === 1 ? ["floor", "docket", "naive"] : ["naive", "docket", "floor"]
      for (const which of order) {
        const started = performance.now()
        const n = await runners[which](copies[which])
        const seconds = (performance.now() - started) / 1000
        if (n !== corpus.length) throw new Error(`${which} wrote ${n} of ${corpus.length} documents`)
        if (round > 0) rates[which].push(n / seconds)
        ctx.log(`  ${round === 0 ? "warm-up" : `round ${round}`} ${which}: ${(n / seconds).toFixed(0)} docs/s`)
      }
    }
    const mean = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0) / xs.length
    const floorRate = mean(rates.floor)
    const docketRate = mean(rates.docket)
    const naiveRate = mean(rates.naive)
    return {
      baseline: {
        docsPerSecond: Math.round(floorRate),
        rounds: rates.floor.map(Math.round),
        documents: count,
        concurrency,
      },
      docket: {
        docsPerSecond: Math.round(docketRate),
        rounds: rates.docket.map(Math.round),
        documents: count,
        concurrency,
      },
      context: {
        naiveRawLoop: {
          what: "list, GetObject, JSON.parse, PutItem of the document item: no ETag comparison, validation, customer items or version condition (the old backfill-vs-raw baseline)",
          docsPerSecond: Math.round(naiveRate),
          rounds: rates.naive.map(Math.round),
          docketOverNaive: Math.round((docketRate / naiveRate) * 1000) / 1000,
        },
      },
      ratio: Math.round((docketRate / floorRate) * 1000) / 1000,
      target: 0.9,
      direction: ">=",
      criterion: "docket/careful floor, documents per second on a fresh bucket",
    }
  },
}

export default scenario

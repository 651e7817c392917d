/**
 * write-through-vs-raw: Docket's write-through (conditional cache write with
 * the version rule, a HEAD of S3 beside it, the S3 put, one JSON log line)
 * against the raw SDK way of writing both stores: PutItem of the document item,
 * then PutObject, one after the other. Same documents, same local stack, fresh
 * keys for every write, at concurrency 1 and 16.
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as S3Key from "@docket/core/S3Key"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

/** JSON log lines are formatted (their cost is Docket's) but not printed. */
const silentJson = Logger.replace(
  Logger.defaultLogger,
  Logger.map(Logger.jsonLogger, () => undefined),
)

const registry = DocumentKind.defaultRegistry

const scenario: Harness.Scenario = {
  name: "write-through-vs-raw",
  description:
    "WriteThrough.write (version-checked DynamoDB transaction + S3 HEAD in parallel, then PutObject) vs raw PutItem + PutObject one after the other; fresh keys; p50 latency at concurrency 1 and 16; ratio = worst Docket/raw p50.",
  run: async (ctx) => {
    const perRound = ctx.quick ? 20 : 100
    const rounds = 5
    const concurrent = ctx.quick ? 160 : 800
    const { table, bucket, clientConfig } = await ctx.isolated("write-through")
    const total = 2 * (perRound * rounds + 40) + 2 * concurrent + 64
    const documents = Corpus.generate({ count: total, customers: 50, seed: 11 })
    let next = 0
    const fresh = (): Document.AnyDocument => {
      const doc = documents[next++ % documents.length]!
      return { ...doc, id: `${doc.id.slice(0, 4)}wt-${next}` }
    }

    const dynamodb = new DynamoDBClient({ ...clientConfig.dynamodb, maxAttempts: 1 })
    const s3 = new S3Client({ ...clientConfig.s3, maxAttempts: 1 })
    const raw = async (doc: Document.AnyDocument) => {
      const kind = registry.get(doc.kind)!
      const key = S3Key.forDocument("", kind, doc.id)
      const items = Items.toItems(doc, registry, { s3Key: key, retentionDays: 3650 })
      await dynamodb.send(new PutItemCommand({ TableName: table, Item: items.document }))
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(doc), ContentType: "application/json" }),
      )
    }

    const settings = DocketConfig.make({
      table,
      bucket,
      region: clientConfig.s3.region,
      dynamodbEndpoint: Option.some(clientConfig.dynamodb.endpoint),
      s3Endpoint: Option.some(clientConfig.s3.endpoint),
      ttlDays: 3650,
      rps: 100_000,
    })
    const runtime = ManagedRuntime.make(
      Docket.layer(settings, {
        dynamodbClient: { credentials: clientConfig.dynamodb.credentials },
        store: { clientConfig: { credentials: clientConfig.s3.credentials } },
      }).pipe(Layer.provide(silentJson), Layer.merge(silentJson)),
    )
    const docket = (doc: Document.AnyDocument) =>
      runtime.runPromise(
        Effect.tap(WriteThrough.write(doc), (result) =>
          result._tag === "Written" ? Effect.void : Effect.dieMessage(`unexpected ${result._tag}`),
        ),
      )

    const timed = async (n: number, fn: (doc: Document.AnyDocument) => Promise<unknown>) => {
      const out: Array<number> = []
      for (let i = 0; i < n; i++) {
        const doc = fresh()
        const start = performance.now()
        await fn(doc)
        out.push(performance.now() - start)
      }
      return out
    }

    try {
      // Warm both paths (connections, JIT) before measuring.
      await timed(20, raw)
      await timed(20, docket)
      const sequential = await Harness.interleave(
        rounds,
        () => timed(perRound, raw),
        () => timed(perRound, docket),
      )
      const ratio1 = sequential.docket.p50 / sequential.baseline.p50
      ctx.log(`concurrency 1: raw p50 ${sequential.baseline.p50} ms, docket p50 ${sequential.docket.p50} ms`)

      const rawBatch = Array.from({ length: concurrent }, fresh)
      const docketBatch = Array.from({ length: concurrent }, fresh)
      const raw16 = await Harness.throughput(rawBatch, 16, raw)
      const docket16 = await Harness.throughput(docketBatch, 16, docket)
      const ratio16 = docket16.p50 / raw16.p50
      ctx.log(
        `concurrency 16: raw p50 ${raw16.p50} ms (${raw16.perSecond}/s), docket p50 ${docket16.p50} ms (${docket16.perSecond}/s)`,
      )
      const ratio = Math.max(ratio1, ratio16)
      const round = (n: number) => Math.round(n * 1000) / 1000
      return {
        baseline: { concurrency1: sequential.baseline, concurrency16: raw16 },
        docket: { concurrency1: sequential.docket, concurrency16: docket16 },
        ratio: round(ratio),
        target: "docket/raw p50 <= 1.15 (worst of concurrency 1 and 16)",
        meetsTarget: ratio <= 1.15,
        notes: `ratio at concurrency 1: ${round(ratio1)}, at 16: ${round(ratio16)}. Docket's write is a consistent GetItem + TransactWriteItems (document and customer items, version condition) with a HEAD of S3 in parallel, then PutObject; the raw baseline writes only the document item and does no version check.`,
      }
    } finally {
      dynamodb.destroy()
      s3.destroy()
      await runtime.dispose()
    }
  },
}

export default scenario

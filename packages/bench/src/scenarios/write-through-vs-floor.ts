/**
 * write-through-vs-floor: Docket's write-through (conditional cache write with
 * the version rule, a HEAD of S3 beside it, the S3 put, one JSON log line)
 * against the raw SDK way of writing both stores: PutItem of the document item,
 * then PutObject, one after the other. Same documents, same local stack, fresh
 * keys for every write, at concurrency 1 and 16.
 *
 * A second, clearly labelled baseline ("floor") is the least a hand-written raw
 * implementation of the same guarantees needs: the prior state for an exact
 * rollback (a consistent GetItem, skipped for a version-1 create whose guard
 * proves there was none), one TransactWriteItems of the document item and its
 * customer items guarded against concurrent writers, a HEAD of S3 beside the
 * cache work (S3 may hold a newer version the cache does not know), then
 * PutObject. The ratio is Docket vs this floor; PutItem + PutObject stays as a
 * context row.
 */

import { randomUUID } from "node:crypto"
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb"
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as S3Key from "@docket/core/S3Key"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

const registry = DocumentKind.defaultRegistry

const scenario: Harness.Scenario = {
  name: "write-through-vs-floor",
  description:
    "WriteThrough.write vs a careful hand-written raw SDK write-through with the same guarantees (the floor), and, as a context row, the naive raw PutItem + PutObject; fresh keys; p50 latency at concurrency 1 and 16, interleaved; ratio = worst Docket/floor p50.",
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

    /** The floor: what a careful raw write-through with exact rollback must do (see the module docs). */
    const floor = async (doc: Document.AnyDocument) => {
      const kind = registry.get(doc.kind)!
      const key = S3Key.forDocument("", kind, doc.id)
      const items = Items.toItems(doc, registry, { s3Key: key, retentionDays: 3650 })
      const [prior] = await Promise.all([
        doc.version === 1
          ? Promise.resolve(undefined)
          : dynamodb
              .send(
                new GetItemCommand({
                  TableName: table,
                  Key: { pk: items.document.pk!, sk: items.document.sk! },
                  ConsistentRead: true,
                }),
              )
              .then((out) => out.Item),
        s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined),
      ])
      const leaving = (prior?.customers?.L ?? [])
        .map((c) => Items.customerSk(c.S!))
        .filter((sk) => !items.customers.some((c) => c.sk?.S === sk))
      const TransactItems: Array<TransactWriteItem> = [
        {
          Put: {
            TableName: table,
            Item: { ...items.document, rev: { S: randomUUID() } },
            ...(prior?.rev?.S !== undefined
              ? {
                  ConditionExpression: "#rev = :seen",
                  ExpressionAttributeNames: { "#rev": "rev" },
                  ExpressionAttributeValues: { ":seen": prior.rev },
                }
              : { ConditionExpression: "attribute_not_exists(pk)" }),
          },
        },
        ...items.customers.map((Item): TransactWriteItem => ({ Put: { TableName: table, Item } })),
        ...leaving.map(
          (sk): TransactWriteItem => ({ Delete: { TableName: table, Key: { pk: items.document.pk!, sk: { S: sk } } } }),
        ),
      ]
      await dynamodb.send(new TransactWriteItemsCommand({ TransactItems }))
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
      }).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
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
      // Warm every path (connections, JIT) before measuring.
      await timed(20, raw)
      await timed(20, floor)
      await timed(20, docket)
      // Rounds alternate raw, floor and Docket so that drift in the machine's load hits all alike.
      const samples = { raw: [] as Array<number>, floor: [] as Array<number>, docket: [] as Array<number> }
      for (let r = 0; r < rounds; r++) {
        samples.raw.push(...(await timed(perRound, raw)))
        samples.floor.push(...(await timed(perRound, floor)))
        samples.docket.push(...(await timed(perRound, docket)))
      }
      const sequential = {
        baseline: Harness.stats(samples.raw),
        floor: Harness.stats(samples.floor),
        docket: Harness.stats(samples.docket),
      }
      const ratio1 = sequential.docket.p50 / sequential.baseline.p50
      const floorRatio1 = sequential.docket.p50 / sequential.floor.p50
      ctx.log(
        `concurrency 1: raw p50 ${sequential.baseline.p50} ms, floor p50 ${sequential.floor.p50} ms, docket p50 ${sequential.docket.p50} ms`,
      )

      // Concurrency 16: two alternating passes of each, half the writes per pass.
      const pass = concurrent / 2
      const c16 = {
        raw: [] as Array<Harness.Stats>,
        floor: [] as Array<Harness.Stats>,
        docket: [] as Array<Harness.Stats>,
      }
      for (let r = 0; r < 2; r++) {
        c16.raw.push(await Harness.throughput(Array.from({ length: pass }, fresh), 16, raw))
        c16.floor.push(await Harness.throughput(Array.from({ length: pass }, fresh), 16, floor))
        c16.docket.push(await Harness.throughput(Array.from({ length: pass }, fresh), 16, docket))
      }
      const merge = (passes: ReadonlyArray<Harness.Stats & { perSecond?: number }>) => ({
        p50: Harness.stats(passes.map((p) => p.p50)).mean,
        perSecond: Harness.stats(passes.map((p) => p.perSecond ?? 0)).mean,
        passes,
      })
      const raw16 = merge(c16.raw)
      const floor16 = merge(c16.floor)
      const docket16 = merge(c16.docket)
      const ratio16 = docket16.p50 / raw16.p50
      const floorRatio16 = docket16.p50 / floor16.p50
      ctx.log(
        `concurrency 16: raw p50 ${raw16.p50} ms (${raw16.perSecond}/s), floor p50 ${floor16.p50} ms (${floor16.perSecond}/s), docket p50 ${docket16.p50} ms (${docket16.perSecond}/s)`,
      )
      const ratio = Math.max(floorRatio1, floorRatio16)
      const round = (n: number) => Math.round(n * 1000) / 1000
      return {
        baseline: { concurrency1: sequential.floor, concurrency16: floor16 },
        docket: { concurrency1: sequential.docket, concurrency16: docket16 },
        context: {
          naive: {
            concurrency1: sequential.baseline,
            concurrency16: raw16,
            docketRatio: { concurrency1: round(ratio1), concurrency16: round(ratio16) },
          },
        },
        ratio: round(ratio),
        target: 1.15,
        direction: "<=",
        criterion: "docket/floor p50, worst of concurrency 1 and 16",
        notes: `Context row, naive (PutItem + PutObject): ${round(ratio1)} at concurrency 1, ${round(ratio16)} at 16. Against the floor (a careful raw write-through with the same guarantees: consistent GetItem unless version 1, HEAD beside it, TransactWriteItems of the document and customer items with a guard, then PutObject): ${round(floorRatio1)} at concurrency 1, ${round(floorRatio16)} at 16; the floor itself is ${round(sequential.floor.p50 / sequential.baseline.p50)}x / ${round(floor16.p50 / raw16.p50)}x the primary baseline. Docket's write: cache.put (a version-1 create is one guarded TransactWriteItems; an update reads the item consistently first) with a HEAD of S3 in parallel, then PutObject; the primary baseline writes only the document item and checks nothing.`,
      }
    } finally {
      dynamodb.destroy()
      s3.destroy()
      await runtime.dispose()
    }
  },
}

export default scenario

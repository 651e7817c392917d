/**
 * `backfill-vs-raw`: documents per second through `Backfill.run` against a raw
 * AWS SDK loop doing the same job by hand (ListObjectsV2 pages, GetObject,
 * JSON.parse, PutItem of the document item), both at 16 documents in flight,
 * on equal copies of the same corpus, in alternating rounds on fresh tables.
 *
 * Docket does more per document than the baseline: schema validation, and a
 * version-conditional transaction writing the document item plus one item per
 * customer (the indexes).
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb"
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3"
import * as Backfill from "@docket/core/Backfill"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as Effect from "effect/Effect"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

const concurrency = 16
const registry = DocumentKind.defaultRegistry
const raw = async (iso: Harness.Isolated): Promise<number> => {
  const s3 = new S3Client({ ...iso.clientConfig.s3, maxAttempts: 3 })
  const dynamodb = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 3 })
  let done = 0
  try {
    let token: string | undefined
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: iso.bucket, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
      )
      const keys = (page.Contents ?? []).map((o) => o.Key as string)
      let next = 0
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (;;) {
            const key = keys[next++]
            if (key === undefined) return
            const object = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: key }))
            const document = JSON.parse((await object.Body?.transformToString()) ?? "{}")
            const items = Items.toItems(document, registry, { s3Key: key, retentionDays: 3650 })
            await dynamodb.send(new PutItemCommand({ TableName: iso.table, Item: items.document }))
            done += 1
          }
        }),
      )
      token = page.NextContinuationToken
    } while (token !== undefined)
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
  name: "backfill-vs-raw",
  description:
    "Documents per second: Backfill.run (list, GetObject, validate, version-conditional transaction with customer items) vs a raw SDK loop (list, GetObject, PutItem of the document item), both 16 in flight, alternating rounds on fresh tables. Target: docket/raw >= 0.85.",
  run: async (ctx) => {
    const count = ctx.quick ? 400 : 2000
    const rounds = ctx.quick ? 1 : 2
    const documents = Corpus.generate({ count, customers: 50, seed: 11 })
    const rawRates: Array<number> = []
    const docketRates: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const a = await ctx.isolated(`backfill-raw-${round}`)
      const b = await ctx.isolated(`backfill-docket-${round}`)
      await Promise.all([
        Corpus.loadBucket(a.clientConfig, a.bucket, documents),
        Corpus.loadBucket(b.clientConfig, b.bucket, documents),
      ])
      const order: Array<"raw" | "docket"> = round % 2 === 0 ? ["raw", "docket"] : ["docket", "raw"]
      for (const which of order) {
        const started = performance.now()
        const n = which === "raw" ? await raw(a) : await docket(b)
        const seconds = (performance.now() - started) / 1000
        if (n !== count) throw new Error(`${which} processed ${n} of ${count} documents`)
        ;(which === "raw" ? rawRates : docketRates).push(n / seconds)
        ctx.log(`  round ${round + 1} ${which}: ${(n / seconds).toFixed(0)} docs/s`)
      }
    }
    const mean = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0) / xs.length
    const rawRate = mean(rawRates)
    const docketRate = mean(docketRates)
    const ratio = Math.round((docketRate / rawRate) * 1000) / 1000
    return {
      baseline: { docsPerSecond: Math.round(rawRate), rounds: rawRates.map(Math.round), documents: count, concurrency },
      docket: {
        docsPerSecond: Math.round(docketRate),
        rounds: docketRates.map(Math.round),
        documents: count,
        concurrency,
      },
      ratio,
      target: 0.85,
      direction: ">=",
      criterion: "docket/raw documents per second",
      notes:
        "Docket writes more per document than the baseline (a transaction with one item per customer, conditional on the version) and validates every body against its schema.",
    }
  },
}

export default scenario

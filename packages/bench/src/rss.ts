/**
 * Memory of backfill and reconcile at scale: `node --import tsx packages/bench/src/rss.ts [N]`
 * (default 100,000). Starts the local stack, puts N documents into the bucket
 * and their items (with the objects' ETags) into the table, then runs an
 * unchanged backfill re-run and a clean reconcile, sampling the process's RSS
 * every 100 ms. The S3 emulator runs in this process and holds every object in
 * memory, so the figure that belongs to Docket is the peak minus the RSS before
 * the run (both are printed).
 */
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from "@aws-sdk/client-dynamodb"
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3"
import * as Backfill from "@docket/core/Backfill"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as Reconcile from "@docket/core/Reconcile"
import * as LocalStack from "@docket/local/LocalStack"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Corpus from "./Corpus.js"
import * as Harness from "./Harness.js"

const count = Number(process.argv[2] ?? 100_000)
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)

const sampled = async <A>(label: string, f: () => Promise<A>): Promise<A> => {
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 100)
  const started = performance.now()
  try {
    return await f()
  } finally {
    clearInterval(timer)
    peak = Math.max(peak, process.memoryUsage().rss)
    console.log(
      JSON.stringify({
        run: label,
        documents: count,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        rssBeforeMB: mb(before),
        rssPeakMB: mb(peak),
        rssGrowthMB: mb(peak - before),
      }),
    )
  }
}

const main = async () => {
  const stack = await LocalStack.start()
  try {
    const iso = await LocalStack.isolate(stack, "rss", "bench")
    const documents = Corpus.generate({ count, customers: 50, seed: 5 })
    await Corpus.loadBucket(iso.clientConfig, iso.bucket, documents, { concurrency: 64 })
    // The cache as a finished backfill leaves it: every item with its object's ETag.
    const s3 = new S3Client({ ...iso.clientConfig.s3 })
    const etags = new Map<string, string>()
    let token: string | undefined
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: iso.bucket, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
      )
      for (const o of page.Contents ?? []) etags.set(o.Key as string, o.ETag as string)
      token = page.NextContinuationToken
    } while (token !== undefined)
    s3.destroy()
    const registry = DocumentKind.defaultRegistry
    const byId = new Map<string, (typeof documents)[number]>(documents.map((d) => [d.id, d]))
    const dynamodb = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 5 })
    const keys = [...etags.keys()]
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const slice = keys.slice(next, next + 8)
          next += 8
          if (slice.length === 0) return
          const requests: Array<WriteRequest> = slice.flatMap((key) => {
            const id = key.replace(/^.*\//, "").replace(/\.json$/, "")
            const doc = byId.get(id) as (typeof documents)[number]
            const items = Items.toItems(doc, registry, {
              s3Key: key,
              retentionDays: 3650,
              etag: etags.get(key) as string,
            })
            return [items.document, ...items.customers].map((Item) => ({ PutRequest: { Item } }))
          })
          for (let i = 0; i < requests.length; i += 25) {
            let pending = requests.slice(i, i + 25)
            while (pending.length > 0) {
              const out = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [iso.table]: pending } }))
              pending = out.UnprocessedItems?.[iso.table] ?? []
            }
          }
        }
      }),
    )
    dynamodb.destroy()
    const layer = Docket.layer(
      DocketConfig.make({
        table: iso.table,
        bucket: iso.bucket,
        region: stack.region,
        dynamodbEndpoint: Option.some(stack.dynamodbEndpoint),
        s3Endpoint: Option.some(stack.s3Endpoint),
        ttlDays: 3650,
        rps: 100_000,
      }),
      {
        dynamodbClient: { credentials: stack.credentials },
        store: { clientConfig: { credentials: stack.credentials } },
      },
    )
    const run = <A, E>(self: Effect.Effect<A, E, Docket.Services>) =>
      Effect.runPromise(self.pipe(Effect.provide(layer), Effect.provide(Harness.silentJsonLogger)))
    const rerun = await sampled("backfill-rerun", () => run(Backfill.run({ concurrency: 16 })))
    console.log(
      JSON.stringify({ backfill: { listed: rerun.listed, unchanged: rerun.unchanged, bodiesRead: rerun.bodiesRead } }),
    )
    const report = await sampled("reconcile", () => run(Reconcile.run({ segments: 4 })))
    console.log(
      JSON.stringify({ reconcile: { documents: report.documents, compared: report.compared, drift: report.counts } }),
    )
  } finally {
    await stack.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

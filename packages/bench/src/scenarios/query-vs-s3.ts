/**
 * query-vs-s3: what the cache is for. One customer's week and one month's time
 * range through DocumentCache.query against the S3-only way (list the prefix,
 * GET and parse every object, filter), on a corpus of 6,000 documents over 60
 * customers (2,000 in quick mode) loaded into both DynamoDB Local and the S3
 * emulator.
 */
import { GetObjectCommand, paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DynamoDB from "@docket/core/DocumentCache/DynamoDB"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as RateLimit from "@docket/core/RateLimit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

const week = { from: "2026-03-02T00:00:00.000Z", to: "2026-03-09T00:00:00.000Z" }

/** The customer with the most documents that week (so the week is not empty). */
const busiest = (docs: ReadonlyArray<Document.AnyDocument>): string => {
  const counts = new Map<string, number>()
  for (const doc of docs) {
    const s = DocumentKind.defaultRegistry.summarize(doc)
    if (s.time < week.from || s.time >= week.to) continue
    for (const c of s.customers) counts.set(c, (counts.get(c) ?? 0) + 1)
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? "cust-001"
}

const queriesFor = (
  docs: ReadonlyArray<Document.AnyDocument>,
): ReadonlyArray<{ readonly name: string; readonly query: DocumentCache.Query }> => [
  { name: "customer week", query: { target: { _tag: "Customer", customer: busiest(docs) }, ...week } },
  {
    name: "time month",
    query: { target: { _tag: "Time" }, from: "2026-03-01T00:00:00.000Z", to: "2026-04-01T00:00:00.000Z" },
  },
]

const scenario: Harness.Scenario = {
  name: "query-vs-s3",
  description:
    "One customer's week and one month's time range through DocumentCache.query vs the S3-only way (ListObjectsV2 the prefix, GET and parse every object with 32 in flight, filter); ratio = the smaller S3/Docket p50 speedup.",
  run: async (ctx) => {
    // The S3-only way reads every object per query: 6,000 keeps a full run within minutes on the
    // shared machine; its cost grows with the corpus and Docket's does not, so a larger corpus only
    // widens the speedup.
    const count = ctx.quick ? 2_000 : 6_000
    const customers = ctx.quick ? 20 : 60
    const { table, bucket, clientConfig } = await ctx.isolated("query-vs-s3")
    const docs = Corpus.generate({ count, customers, seed: 11 })
    const loadStart = performance.now()
    await Promise.all([Corpus.loadCache(clientConfig, table, docs), Corpus.loadBucket(clientConfig, bucket, docs)])
    ctx.log(
      `loaded ${count} documents into the table and the bucket in ${Math.round(performance.now() - loadStart)} ms`,
    )
    const registry = DocumentKind.defaultRegistry
    const s3 = new S3Client({ ...clientConfig.s3, maxAttempts: 3 })
    const runtime = ManagedRuntime.make(
      DynamoDB.layer({ table, retentionDays: 3650, client: clientConfig.dynamodb }).pipe(
        Layer.provide(Layer.mergeAll(DocumentKind.layerDefault, RateLimit.layer({ rps: 100_000, burst: 10_000 }))),
        Layer.provide(Harness.silentJsonLogger),
        Layer.merge(Harness.silentJsonLogger),
      ),
    )

    /** The S3-only way: every object is listed, read and parsed, then filtered. */
    const s3Only = async (query: DocumentCache.Query): Promise<number> => {
      const keys: Array<string> = []
      for await (const out of paginateListObjectsV2({ client: s3 }, { Bucket: bucket })) {
        for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key)
      }
      const from = Date.parse(query.from)
      const to = Date.parse(query.to)
      let matches = 0
      let next = 0
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (;;) {
            const i = next++
            if (i >= keys.length) return
            const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[i] }))
            const doc = JSON.parse((await out.Body?.transformToString()) ?? "null") as Document.AnyDocument
            const s = registry.summarize(doc)
            const t = Date.parse(s.time)
            if (t < from || t >= to) continue
            if (query.target._tag === "Customer" && !s.customers.includes(query.target.customer)) continue
            matches++
          }
        }),
      )
      return matches
    }
    const docket = (query: DocumentCache.Query) =>
      runtime.runPromise(
        Effect.flatMap(DocumentCache.DocumentCache, (cache) =>
          Effect.map(Stream.runCollect(cache.query(query)), (items) => items.length),
        ),
      )
    try {
      const baseline: Record<string, unknown> = { corpus: { documents: count, customers } }
      const docketStats: Record<string, unknown> = {}
      const perQuery: Record<string, unknown> = {}
      let worst = Number.POSITIVE_INFINITY
      for (const q of queriesFor(docs)) {
        const [a, b] = [await s3Only(q.query), await docket(q.query)]
        if (a !== b) throw new Error(`${q.name}: S3 found ${a} documents, Docket ${b}`)
        const s3Stats = await Harness.measure(2, () => s3Only(q.query), { warmup: 0 })
        const docketRun = await Harness.measure(ctx.quick ? 30 : 100, () => docket(q.query))
        const speedup = s3Stats.p50 / docketRun.p50
        worst = Math.min(worst, speedup)
        baseline[q.name] = s3Stats
        docketStats[q.name] = docketRun
        perQuery[q.name] = { documents: a, speedup: Math.round(speedup) }
        ctx.log(`${q.name}: ${a} documents, S3 p50 ${s3Stats.p50} ms, Docket p50 ${docketRun.p50} ms`)
      }
      return {
        baseline,
        docket: docketStats,
        ratio: Math.round(worst * 10) / 10,
        target: 100,
        direction: ">=",
        criterion: "S3-only p50 / Docket p50, smaller of the two queries",
        notes: `per query: ${JSON.stringify(perQuery)}. The S3 emulator is in-process on loopback, far faster per request than S3 itself, so the real speedup is larger.`,
      }
    } finally {
      s3.destroy()
      await runtime.dispose()
    }
  },
}

export default scenario

/**
 * read (read-hit-vs-raw, read-miss-vs-floor): FallbackReader.read against the raw SDK way of reading
 * (`fixtures/read-floor.ts` has the baselines).
 * - hit: the document is cached (its items written by Docket's own `cache.put`,
 *   with their content hash); Docket's read (consistent GetItem, decode, schema
 *   check, one log line) vs a raw consistent GetItem + JSON.parse of that item.
 * - miss with refill: the document is only in S3; Docket's read plus its
 *   background refill (awaited, so the refill's cost is counted) vs the careful
 *   raw floor: the cache lookup that found nothing (a consistent GetItem),
 *   GetObject + JSON.parse, and the refill as one TransactWriteItems of the
 *   document and customer items guarded by `attribute_not_exists` (never over a
 *   concurrent write). The naive GetObject + PutItem is a context row.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { S3Client } from "@aws-sdk/client-s3"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as Floor from "../fixtures/read-floor.js"
import * as Harness from "../Harness.js"

const hitDescription =
  "FallbackReader.read on a cache hit vs a raw consistent GetItem + JSON.parse of the same item; the cached items are written by Docket's own cache.put (with their contentHash, as every item Docket writes), not in the pre-protocol layout of Corpus.loadCache; p50, sequential, interleaved rounds."
const missDescription =
  "FallbackReader.read on a miss, its background refill awaited, vs the careful raw floor (a consistent GetItem that misses, GetObject + JSON.parse, one TransactWriteItems of the document and customer items guarded by attribute_not_exists); the naive GetObject + PutItem is a context row; p50, sequential, rounds alternate raw, floor and Docket."

const scenario: Harness.Scenario = {
  name: "read",
  description: "FallbackReader.read: a cache hit vs raw GetItem, a miss with refill vs the careful raw floor.",
  produces: ["read-hit-vs-raw", "read-miss-vs-floor"],
  run: async (ctx) => {
    const perRound = ctx.quick ? 20 : 100
    const rounds = 5
    const { table, bucket, clientConfig } = await ctx.isolated("read-vs-raw")
    const hits = Corpus.generate({ count: 200, customers: 50, seed: 21 }).map((d) => ({
      ...d,
      publishAt: "2099-06-01T00:00:00Z",
      schedule: { start: "2099-06-01T00:00:00Z", end: "2099-06-02T00:00:00Z" },
    })) as ReadonlyArray<Document.AnyDocument>
    const missCount = 3 * (perRound * rounds + 20)
    const misses = Corpus.generate({ count: missCount, customers: 50, seed: 22 })
      .map((d, i) => ({ ...d, id: `${d.id.slice(0, 4)}miss-${i}` }))
      .map((d) =>
        d.kind === "change"
          ? { ...d, schedule: { start: "2099-06-01T00:00:00Z", end: "2099-06-02T00:00:00Z" } }
          : { ...d, publishAt: "2099-06-01T00:00:00Z" },
      ) as ReadonlyArray<Document.AnyDocument>
    await Corpus.loadBucket(clientConfig, bucket, [...hits, ...misses])

    const dynamodb = new DynamoDBClient({ ...clientConfig.dynamodb, maxAttempts: 1 })
    const s3 = new S3Client({ ...clientConfig.s3, maxAttempts: 1 })
    const target = { dynamodb, s3, table, bucket }
    const rawHit = Floor.hit(target)
    const rawMiss = Floor.naiveMiss(target)
    const floorMiss = Floor.floorMiss(target)

    const runtime = ManagedRuntime.make(
      Harness.docketLayer(
        { table, bucket },
        Harness.endpointsOf({ table, bucket, clientConfig, environment: {} }),
      ).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
    )
    // The hits' items as Docket writes them: through its own cache.put, so they carry their content hash. Items
    // in the pre-protocol layout (`Corpus.loadCache`'s, no contentHash) are only what a table of an early release
    // holds; reading one is not the hit path a user of this release sees.
    await runtime.runPromise(
      Effect.flatMap(DocumentCache.DocumentCache, (cache) =>
        Effect.forEach(hits, (doc) => cache.put(doc, { s3Key: Floor.s3KeyOf(doc) }), { concurrency: 8, discard: true }),
      ),
    )
    const docket = (doc: Document.AnyDocument, expected: "cache" | "store") =>
      runtime.runPromise(
        Effect.gen(function* () {
          const reader = yield* FallbackReader.FallbackReader
          const result = yield* reader.read(doc.kind, doc.id)
          if (Option.getOrUndefined(result)?.source !== expected) {
            return yield* Effect.dieMessage(`${doc.id}: expected a read from ${expected}`)
          }
          if (expected === "store") yield* reader.awaitRefills
        }),
      )

    let hitIndex = 0
    let rawMissIndex = 0
    let floorMissIndex = misses.length / 3
    let docketMissIndex = (2 * misses.length) / 3
    const timed = async (n: number, fn: () => Promise<unknown>) => {
      const out: Array<number> = []
      for (let i = 0; i < n; i++) {
        const start = performance.now()
        await fn()
        out.push(performance.now() - start)
      }
      return out
    }
    const nextHit = () => hits[hitIndex++ % hits.length]!
    try {
      await timed(20, () => rawHit(nextHit()))
      await timed(20, () => docket(nextHit(), "cache"))
      const hit = await Harness.interleave(
        rounds,
        () => timed(perRound, () => rawHit(nextHit())),
        () => timed(perRound, () => docket(nextHit(), "cache")),
      )
      const hitRatio = hit.docket.p50 / hit.baseline.p50
      ctx.log(`hit: raw p50 ${hit.baseline.p50} ms, docket p50 ${hit.docket.p50} ms`)

      await timed(10, () => rawMiss(misses[rawMissIndex++]!))
      await timed(10, () => floorMiss(misses[floorMissIndex++]!))
      await timed(10, () => docket(misses[docketMissIndex++]!, "store"))
      // Rounds alternate raw, floor and Docket so that drift in the machine's load hits all alike.
      const missSamples = { raw: [] as Array<number>, floor: [] as Array<number>, docket: [] as Array<number> }
      for (let r = 0; r < rounds; r++) {
        missSamples.raw.push(...(await timed(perRound, () => rawMiss(misses[rawMissIndex++]!))))
        missSamples.floor.push(...(await timed(perRound, () => floorMiss(misses[floorMissIndex++]!))))
        missSamples.docket.push(...(await timed(perRound, () => docket(misses[docketMissIndex++]!, "store"))))
      }
      const miss = {
        baseline: Harness.stats(missSamples.raw),
        floor: Harness.stats(missSamples.floor),
        docket: Harness.stats(missSamples.docket),
      }
      const missRatio = miss.docket.p50 / miss.baseline.p50
      const missFloorRatio = miss.docket.p50 / miss.floor.p50
      ctx.log(
        `miss+refill: raw p50 ${miss.baseline.p50} ms, floor p50 ${miss.floor.p50} ms, docket p50 ${miss.docket.p50} ms`,
      )
      const round = (n: number) => Math.round(n * 1000) / 1000
      const hitResult: Harness.NamedResult = {
        name: "read-hit-vs-raw",
        description: hitDescription,
        baseline: { hit: hit.baseline },
        docket: { hit: hit.docket },
        ratio: round(hitRatio),
        target: 1.1,
        direction: "<=",
        criterion: "FallbackReader hit / raw consistent GetItem + parse, p50",
        notes:
          "Docket's hit: one consistent GetItem, the summary attributes and body decoded through the kind's schema, one debug log line (not built below the minimum level), a span.",
      }
      const missResult: Harness.NamedResult = {
        name: "read-miss-vs-floor",
        description: missDescription,
        baseline: { missWithRefill: miss.floor },
        docket: { missWithRefill: miss.docket },
        context: { naive: { missWithRefill: miss.baseline, docketRatio: round(missRatio) } },
        ratio: round(missFloorRatio),
        target: 1.1,
        direction: "<=",
        criterion: "miss with refill / careful raw floor, p50",
        notes: `Context row, naive (GetObject + PutItem, no cache read, no guard): docket/naive ${round(missRatio)}; the floor itself is ${round(miss.floor.p50 / miss.baseline.p50)}x the naive baseline. Docket's miss is a consistent GetItem, then GetObject (body read interruptibly, decoded through the schema), then a refill in the background: one TransactWriteItems guarded by attribute_not_exists (the Absent condition; no read first); the naive baseline does no cache read, no schema check, no condition and writes only the document item.`,
      }
      return [hitResult, missResult]
    } finally {
      dynamodb.destroy()
      s3.destroy()
      await runtime.dispose()
    }
  },
}

export default scenario

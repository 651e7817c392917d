/**
 * write-through-vs-floor: Docket's write-through against a careful hand-written
 * raw SDK implementation of the same write protocol (DESIGN section 6), with
 * the same three sequential round trips and the same guarantees
 * (`fixtures/write-floor.ts` has it, with the naive raw write, PutItem then
 * PutObject with nothing checked, that stays as a context row). Fresh keys for
 * every write; p50 latency at concurrency 1 and 16, interleaved. A separate
 * counting pass (through recording proxies, not timed) reports requests and
 * sequential round trips per write for Docket and the floor.
 */

import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { S3Client } from "@aws-sdk/client-s3"
import type * as Document from "@docket/core/Document"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Corpus from "../Corpus.js"
import * as Floor from "../fixtures/write-floor.js"
import * as Harness from "../Harness.js"
import * as Wire from "../Wire.js"

const scenario: Harness.Scenario = {
  name: "write-through-vs-floor",
  description:
    "WriteThrough.write vs a careful hand-written raw SDK implementation of the same write protocol (intent UpdateItem, conditional PutObject, commit TransactWriteItems: three round trips, the same guarantees), and, as a context row, the naive raw PutItem + PutObject; fresh keys; p50 latency at concurrency 1 and 16, interleaved; ratio = worst Docket/floor p50; requests and sequential round trips per write counted on the wire.",
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
    const raw = Floor.naive({ dynamodb, s3, table, bucket })
    const floorWith = (d: DynamoDBClient, o: S3Client) => Floor.floor({ dynamodb: d, s3: o, table, bucket })
    const floor = floorWith(dynamodb, s3)

    const runtimeOn = (endpoints: { readonly dynamodb: string; readonly s3: string }) =>
      ManagedRuntime.make(
        Harness.docketLayer(
          { table, bucket },
          {
            region: clientConfig.s3.region,
            credentials: clientConfig.s3.credentials,
            dynamodbEndpoint: endpoints.dynamodb,
            s3Endpoint: endpoints.s3,
          },
        ).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
      )
    const runtime = runtimeOn({ dynamodb: clientConfig.dynamodb.endpoint, s3: clientConfig.s3.endpoint })
    const docketOn =
      (rt: ReturnType<typeof runtimeOn>) =>
      (doc: Document.AnyDocument): Promise<void> =>
        rt.runPromise(
          Effect.flatMap(WriteThrough.write(doc), (result) =>
            result._tag === "Written" ? Effect.void : Effect.dieMessage(`unexpected ${result._tag}`),
          ),
        )
    const docket = docketOn(runtime)

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
      // Counting pass (not timed): the same writes through recording proxies.
      const dynamodbWire = await Wire.record("dynamodb", clientConfig.dynamodb.endpoint)
      const s3Wire = await Wire.record("s3", clientConfig.s3.endpoint)
      const wiredDynamodb = new DynamoDBClient({
        ...clientConfig.dynamodb,
        endpoint: dynamodbWire.endpoint,
        maxAttempts: 1,
      })
      const wiredS3 = new S3Client({ ...clientConfig.s3, endpoint: s3Wire.endpoint, maxAttempts: 1 })
      const wiredRuntime = runtimeOn({ dynamodb: dynamodbWire.endpoint, s3: s3Wire.endpoint })
      const wires = [dynamodbWire, s3Wire]
      let counts: { readonly floor: Wire.Counts; readonly docket: Wire.Counts }
      try {
        const wiredFloor = floorWith(wiredDynamodb, wiredS3)
        const wiredDocket = docketOn(wiredRuntime)
        await wiredDocket(fresh())
        counts = {
          floor: await Wire.count(wires, 20, () => wiredFloor(fresh())),
          docket: await Wire.count(wires, 20, () => wiredDocket(fresh())),
        }
      } finally {
        await wiredRuntime.dispose()
        wiredDynamodb.destroy()
        wiredS3.destroy()
        await dynamodbWire.close()
        await s3Wire.close()
      }
      ctx.log(
        `per write: docket ${counts.docket.requestsPerOperation} requests in ${counts.docket.sequentialRoundTripsPerOperation} sequential round trips (${JSON.stringify(counts.docket.byOperation)}), floor ${counts.floor.requestsPerOperation} in ${counts.floor.sequentialRoundTripsPerOperation}`,
      )
      const ratio = Math.max(floorRatio1, floorRatio16)
      const round = (n: number) => Math.round(n * 1000) / 1000
      return {
        baseline: { concurrency1: sequential.floor, concurrency16: floor16, perWrite: counts.floor },
        docket: { concurrency1: sequential.docket, concurrency16: docket16, perWrite: counts.docket },
        checks: [
          {
            name: "sequential round trips per Docket write",
            value: counts.docket.sequentialRoundTripsPerOperation,
            target: 3,
            direction: "<=",
          },
        ],
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
        notes: `Against the floor (the write protocol by hand: intent UpdateItem returning the prior state, conditional PutObject, commit TransactWriteItems): ${round(floorRatio1)} at concurrency 1, ${round(floorRatio16)} at 16. Per write (counting pass, ${counts.docket.operations} writes each, one after another): Docket ${counts.docket.requestsPerOperation} requests in ${counts.docket.sequentialRoundTripsPerOperation} sequential round trips ${JSON.stringify(counts.docket.byOperation)}; floor ${counts.floor.requestsPerOperation} in ${counts.floor.sequentialRoundTripsPerOperation} ${JSON.stringify(counts.floor.byOperation)}. Context row, naive (PutItem + PutObject, nothing checked): docket/naive ${round(ratio1)} at concurrency 1, ${round(ratio16)} at 16; the floor itself is ${round(sequential.floor.p50 / sequential.baseline.p50)}x / ${round(floor16.p50 / raw16.p50)}x the naive write.`,
      }
    } finally {
      dynamodb.destroy()
      s3.destroy()
      await runtime.dispose()
    }
  },
}

export default scenario

/**
 * DESIGN invariants 6 and 7 on the local stack (DynamoDB Local and the S3
 * emulator), with the model of `Invariants67Model.ts`: independent writer
 * services crashing at every step, puts held past other writers' puts, faults,
 * on the live clock with short leases. The emulator ignores S3's conditional
 * writes (fauxqs 1.9.2), so held puts are the abortable kind (a put never lands
 * once its writer gave up): the intent alone is what these runs prove. Fewer runs
 * than the memory file: each run is a few dozen real calls and waits out a lease.
 */
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DynamoDBCache from "../src/DocumentCache/DynamoDB.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3Store from "../src/DocumentStore/S3.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as RateLimit from "../src/RateLimit.js"
import * as Model from "./Invariants67Model.js"

const runs = Number(process.env.DOCKET_LOCAL_PROPERTY_RUNS ?? 15)
const quiet = Logger.minimumLogLevel(LogLevel.None)

let isolated: Testing.Isolated
beforeAll(async () => {
  isolated = await Testing.isolated("invariants-67")
})

const tried = {
  "invariant 6": { schedules: 0, crashed: 0, held: 0, acknowledged: 0, reads: 0 },
  "invariant 7": { schedules: 0, crashed: 0, held: 0, acknowledged: 0, reads: 0 },
}
afterAll(() => {
  console.log(`Invariants 6 and 7 (DynamoDB Local + S3 emulator) schedules tried: ${JSON.stringify(tried)}`)
})

// Short leases on the live clock: a run waits out at most a few leases.
const leaseMillis = 1_500
const budgetMillis = 1_000

let run = 0
const template = fc.sample(Arbitraries.change({ maxTextLength: 12, ids: ["CHG-inv67-local"] }), {
  numRuns: 1,
  seed: 67,
})[0]!

const runLocal = (schedule: Model.Schedule) =>
  Effect.gen(function* () {
    run += 1
    // A fresh document per run: the table and bucket are shared by the runs.
    const base: Document.AnyDocument = {
      ...template,
      id: `CHG-inv67-local-${run}-${Date.now()}`,
      schedule: { start: "2099-01-01T10:00:00Z", end: "2099-01-01T11:00:00Z" },
    }
    const settings = DocketConfig.make({
      bucket: isolated.bucket,
      table: isolated.table,
      prefix: "inv67/",
      maxAttempts: 2,
      writeWaitMillis: 2_500,
    })
    const retry = { maxAttempts: 2, base: "20 millis", cap: "100 millis" } as const
    const backends = Layer.mergeAll(
      DynamoDBCache.layer({
        table: isolated.table,
        retentionDays: settings.ttlDays,
        retry,
        client: { ...isolated.clientConfig.dynamodb },
      }),
      S3Store.layer({
        bucket: isolated.bucket,
        prefix: "inv67/",
        retry,
        clientConfig: { ...isolated.clientConfig.s3 },
      }),
    ).pipe(
      Layer.provideMerge(
        Layer.mergeAll(DocumentKind.layerDefault, RateLimit.layerUnlimited, DocketConfig.layer(settings)),
      ),
    )
    return yield* Effect.gen(function* () {
      const env: Model.Env = {
        cache: yield* DocumentCache.DocumentCache,
        store: yield* DocumentStore.DocumentStore,
        settings,
        kinds: DocumentKind.defaultRegistry,
        leaseMillis,
        budgetMillis,
        tick: (millis) => Effect.sleep(`${millis} millis`),
        settle: Effect.sleep("30 millis"),
      }
      return yield* Model.run(env, base, schedule)
    }).pipe(Effect.provide(backends), Effect.scoped, Effect.provide(quiet))
  })

const count = (name: keyof typeof tried, obs: Model.Observations) => {
  const t = tried[name]
  t.schedules++
  t.crashed += obs.crashed.length
  t.held += obs.held.count
  t.acknowledged += obs.acknowledged.length
  t.reads += obs.looks
}

describe("write protocol with crashing, delayed and faulty writers (DynamoDB Local + S3 emulator)", () => {
  it.live.prop(
    "invariant 6 on the real backends: a writer that dies at any step never leaves a read, a query or the cache showing a version S3 never had, and after its lease plus one sweep its intent is resolved",
    [Model.schedule({ modes: ["abortable-unconditional"], maxWriters: 3, crashWeight: 3 })],
    ([schedule]) =>
      Effect.gen(function* () {
        const obs = yield* runLocal(schedule)
        count("invariant 6", obs)
        expect(obs.phantoms, JSON.stringify(obs)).toEqual([])
        expect(obs.final?.intent, `an intent is left after lease + sweep: ${JSON.stringify(obs)}`).toBe(false)
        expect(Model.agrees(obs.final!), `cache and S3 differ after lease + sweep: ${JSON.stringify(obs)}`).toBe(true)
      }),
    { timeout: 600_000, fastCheck: { numRuns: runs } },
  )

  it.live.prop(
    "invariant 7 on the real backends: every acknowledged version stays in S3 until a higher version replaces it, and the cache converges to S3",
    [Model.schedule({ modes: ["abortable-unconditional"], maxWriters: 4, crashWeight: 1, holdWeight: 3 })],
    ([schedule]) =>
      Effect.gen(function* () {
        const obs = yield* runLocal(schedule)
        count("invariant 7", obs)
        expect(obs.regressions, JSON.stringify(obs)).toEqual([])
        expect(Model.agrees(obs.final!), `cache and S3 differ at the end: ${JSON.stringify(obs)}`).toBe(true)
      }),
    { timeout: 600_000, fastCheck: { numRuns: runs } },
  )
})

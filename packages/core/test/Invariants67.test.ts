/**
 * DESIGN invariants 6 and 7 on the memory layers (the model is in
 * `Invariants67Model.ts`): several independent writer services share one cache
 * and one store; writers crash at every step (no finalizer runs), S3 puts are
 * held past other writers' puts, faults are injected on every writer call, and
 * the TestClock moves past leases. The number of schedules tried, and what they
 * did, is printed at the end of the file.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as TestClock from "effect/TestClock"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as Model from "./Invariants67Model.js"
import { yieldTurn } from "./support/EventLoop.js"

const runs = Number(process.env.DOCKET_PROPERTY_RUNS ?? 300)
const quiet = Logger.minimumLogLevel(LogLevel.None)

const base: Document.AnyDocument = {
  ...fc.sample(Arbitraries.change({ maxTextLength: 12, ids: ["CHG-inv67-1"] }), { numRuns: 1, seed: 67 })[0]!,
  schedule: { start: "2099-01-01T10:00:00Z", end: "2099-01-01T11:00:00Z" },
}

const tried = {
  "invariant 6": { schedules: 0, crashed: 0, held: 0, landedLate: 0, acknowledged: 0, reads: 0 },
  "invariant 7": { schedules: 0, crashed: 0, held: 0, landedLate: 0, acknowledged: 0, reads: 0 },
}
afterAll(() => {
  console.log(`Invariants 6 and 7 (memory) schedules tried: ${JSON.stringify(tried)}`)
})

// The protocol's proportions (budget two thirds of the lease, the write wait past it) at a fifth of the
// production lease: every wait is a handful of TestClock sleeps, each a turn of the event loop.
const leaseMillis = 3_000
const budgetMillis = 2_000

const runMemory = (schedule: Model.Schedule) =>
  Effect.gen(function* () {
    // Let the test runner's worker breathe between runs (the memory layers never yield to the event loop).
    yield* yieldTurn
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory({
      conditional: schedule.mode !== "abortable-unconditional",
      bucket: "docs",
    })
    const env: Model.Env = {
      cache,
      store,
      settings: DocketConfig.make({ bucket: "docs", writeWaitMillis: 4_000 }),
      kinds: DocumentKind.defaultRegistry,
      leaseMillis,
      budgetMillis,
      tick: (millis) => TestClock.adjust(`${millis} millis`),
      settle: Effect.repeatN(Effect.yieldNow(), 20),
    }
    return yield* Model.run(env, base, schedule)
  }).pipe(Effect.provide(DocumentKind.layerDefault), Effect.scoped, Effect.provide(quiet))

const count = (name: keyof typeof tried, obs: Model.Observations) => {
  const t = tried[name]
  t.schedules++
  t.crashed += obs.crashed.length
  t.held += obs.held.count
  t.landedLate += obs.held.landedLate
  t.acknowledged += obs.acknowledged.length
  t.reads += obs.looks
}

describe("write protocol with crashing, delayed and faulty writers (memory)", () => {
  it.effect(
    "regression (invariant 6): a put that lands after its writer gave up, while the same writer's next intent is pending and then abandoned, is what the cache holds after lease + one sweep",
    () =>
      Effect.gen(function* () {
        // Found by the invariant 6 property: the late put's event met the pending intent and left the key to it;
        // the sweep then dropped the intent and kept the committed state (nothing), while S3 held v1.
        const obs = yield* runMemory({
          mode: "late-conditional",
          writers: [
            {
              ops: [
                { _tag: "Write", version: 1, alt: false },
                { _tag: "Write", version: 1, alt: true },
              ],
              crash: { call: 4, phase: "during" },
            },
            { ops: [{ _tag: "Write", version: 1, alt: false }], crash: { call: 0, phase: "before" } },
          ],
          holds: [true],
          verdicts: [],
          steps: [{ _tag: "Tick", leases: 0.7 }, { _tag: "Run" }],
        })
        expect(obs.held.landedLate).toBe(1)
        expect(obs.final?.intent).toBe(false)
        expect(obs.final?.s3.startsWith("v1 ")).toBe(true)
        expect(Model.agrees(obs.final!), obs.trace.join("\n")).toBe(true)
      }),
  )

  it.effect.prop(
    "invariant 6: a writer that dies at any step never leaves a read, a query or the cache showing a version S3 never had, and after its lease plus one sweep its intent is resolved (cache equals S3)",
    [
      Model.schedule({
        modes: ["abortable-conditional", "abortable-unconditional", "late-conditional"],
        crashWeight: 3,
        deleteWeight: 1,
      }),
    ],
    ([schedule]) =>
      Effect.gen(function* () {
        const obs = yield* runMemory(schedule)
        count("invariant 6", obs)
        expect(obs.phantoms, JSON.stringify(obs)).toEqual([])
        expect(obs.final?.intent, `an intent is left after lease + sweep: ${JSON.stringify(obs)}`).toBe(false)
        expect(Model.agrees(obs.final!), `cache and S3 differ after lease + sweep: ${JSON.stringify(obs)}`).toBe(true)
      }),
    // A backstop for a loaded machine (the TestClock turns the event loop once per sleep); a hang fails sooner,
    // inside the model (a bounded wait).
    { timeout: 900_000, fastCheck: { numRuns: runs } },
  )

  it.effect.prop(
    "invariant 7: with several writer services, every acknowledged version stays in S3 until a higher version replaces it (S3 never goes back to a lower version), and the cache converges to S3",
    [
      Model.schedule({
        modes: ["late-conditional", "abortable-conditional", "abortable-unconditional"],
        maxWriters: 5,
        crashWeight: 1,
        deleteWeight: 1,
        holdWeight: 3,
      }),
    ],
    ([schedule]) =>
      Effect.gen(function* () {
        const obs = yield* runMemory(schedule)
        count("invariant 7", obs)
        expect(obs.regressions, JSON.stringify(obs)).toEqual([])
        expect(Model.agrees(obs.final!), `cache and S3 differ at the end: ${JSON.stringify(obs)}`).toBe(true)
      }),
    // A backstop for a loaded machine (the TestClock turns the event loop once per sleep); a hang fails sooner,
    // inside the model (a bounded wait).
    { timeout: 900_000, fastCheck: { numRuns: runs } },
  )
})

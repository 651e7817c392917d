/**
 * WriteThrough and FallbackReader on DynamoDB Local and the S3 emulator,
 * composed by `Docket.layer` from the settings a deployment would use.
 * Faults are injected around the real backends where a case needs them.
 */
import * as Testing from "@docket/local/Testing"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocketConfig from "../src/DocketConfig.js"
import * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as FaultInjection from "../src/FaultInjection.js"
import * as RateLimit from "../src/RateLimit.js"
import * as WriteThrough from "../src/WriteThrough.js"
import * as LocalDocket from "./support/LocalDocket.js"

const quiet = Logger.minimumLogLevel(LogLevel.None)

const local = Layer.unwrapEffect(
  Effect.promise(() => Testing.isolated("write-through")).pipe(
    Effect.map((isolated) => LocalDocket.layer(isolated, { prefix: "docs é+/", maxAttempts: 2 })),
  ),
)

const sample = (id: string, seed: number) =>
  fc.sample(
    Arbitraries.change({
      maxTextLength: 30,
      ids: [id],
      minTime: new Date("2099-01-01T00:00:00Z"),
      maxTime: new Date("2099-12-01T00:00:00Z"),
    }),
    {
      numRuns: 1,
      seed,
    },
  )[0]!

/** A workflow over the real ports in context, with faults injected around them; also returns the plan. */
const faultyWithPlan = (
  verdicts: ReadonlyArray<FaultInjection.Verdict>,
  only?: (call: FaultInjection.Call) => boolean,
) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    const store = yield* DocumentStore.DocumentStore
    const plan = yield* FaultInjection.plan(verdicts, only ? { only } : {})
    const faults = { plan, retry: FaultInjection.immediateRetry(2) }
    const settings = yield* DocketConfig.DocketConfig
    // Short leases (and a wait just past them), as in the memory properties: a writer that meets an intent
    // left by a failed commit resolves it after the lease instead of the production 15 s.
    const writeThrough = yield* WriteThrough.makeWith({ lease: "2 seconds", putBudget: "1500 millis" }).pipe(
      Effect.provideService(DocumentCache.DocumentCache, FaultInjection.cache(cache, faults)),
      Effect.provideService(DocumentStore.DocumentStore, FaultInjection.store(store, faults)),
      Effect.provideService(DocketConfig.DocketConfig, { ...settings, writeWaitMillis: 3_000 }),
    )
    return { writeThrough, plan }
  })

const faulty = (verdicts: ReadonlyArray<FaultInjection.Verdict>, only?: (call: FaultInjection.Call) => boolean) =>
  Effect.map(faultyWithPlan(verdicts, only), (w) => w.writeThrough)

describe("WriteThrough and FallbackReader on DynamoDB Local and the S3 emulator", () => {
  // The live clock: these tests talk to real servers, and the writers' leases, backoff and put budgets must run
  // on the time those servers see. Under the TestClock (the default of `it.layer`) time never passed, so a
  // writer that met another writer's intent slept forever: the hang of the invariant-1 property below.
  layer(local, { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("write, duplicate, stale, read, pointer body, delete", () =>
      Effect.gen(function* () {
        const writeThrough = yield* WriteThrough.WriteThrough
        const reader = yield* FallbackReader.FallbackReader
        const store = yield* DocumentStore.DocumentStore
        const v1 = sample("CHG-local-1", 1)
        const v2 = { ...v1, version: v1.version + 1, title: "second" }
        expect((yield* writeThrough.write(v1))._tag).toBe("Written")
        expect((yield* writeThrough.write(v2))._tag).toBe("Written")
        expect((yield* writeThrough.write(v2))._tag).toBe("Unchanged")
        expect((yield* Effect.flip(writeThrough.write(v1)))._tag).toBe("StaleWriteError")
        const read = yield* reader.read(v1.kind, v1.id)
        expect(Option.map(read, (r) => [r.source, r.document])).toEqual(Option.some(["cache", v2]))
        expect(Option.map(yield* store.get(v1.kind, v1.id), (s) => s.document)).toEqual(Option.some(v2))

        // A body over DynamoDB's item limit is cached as a pointer: reads come from S3.
        const big = { ...v2, id: "CHG-local-big", description: "é".repeat(250_000) }
        expect((yield* writeThrough.write(big))._tag).toBe("Written")
        const bigRead = yield* reader.read(big.kind, big.id)
        expect(Option.map(bigRead, (r) => r.source)).toEqual(Option.some("store"))
        expect(Document.sameContent(Option.getOrThrow(bigRead).document, big)).toBe(true)

        const deleted = yield* writeThrough.delete(v1.kind, v1.id)
        expect(deleted._tag).toBe("Deleted")
        expect(yield* reader.read(v1.kind, v1.id)).toEqual(Option.none())
      }).pipe(Effect.provide(quiet)),
    )

    it.effect("a miss is answered from S3 and refilled in the background; the next read is a hit", () =>
      Effect.gen(function* () {
        const reader = yield* FallbackReader.FallbackReader
        const store = yield* DocumentStore.DocumentStore
        const v1 = sample("CHG-local-refill", 2)
        yield* store.put(v1)
        const first = yield* reader.read(v1.kind, v1.id)
        expect(Option.map(first, (r) => [r.source, r.document])).toEqual(Option.some(["store", v1]))
        yield* reader.awaitRefills
        const second = yield* reader.read(v1.kind, v1.id)
        expect(Option.map(second, (r) => [r.source, r.document])).toEqual(Option.some(["cache", v1]))
      }).pipe(Effect.provide(quiet)),
    )

    it.effect("S3 refusing the put restores DynamoDB's previous item exactly", () =>
      Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        const v1 = sample("CHG-local-rollback", 3)
        const v2 = { ...v1, version: v1.version + 1 }
        const healthy = yield* WriteThrough.WriteThrough
        yield* healthy.write(v1)
        const before = yield* cache.get(v1.kind, v1.id, { includeExpired: true })
        const writeThrough = yield* faulty(["Denied"], (call) => call.operation === "PutObject")
        const result = yield* writeThrough.write(v2)
        expect(result).toMatchObject({ _tag: "RolledBack", rollback: "Restored" })
        expect(yield* cache.get(v1.kind, v1.id, { includeExpired: true })).toEqual(before)
      }).pipe(Effect.provide(quiet)),
    )

    it.effect("a writer slowed before its put renews its lease in DynamoDB first (item and intents index)", () =>
      Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        const store = yield* DocumentStore.DocumentStore
        const settings = yield* DocketConfig.DocketConfig
        const v1 = sample("CHG-local-renew", 4)
        // Our intent's lease as the cache holds it before each call (the intents index's, before the put).
        const leases: Array<{
          readonly call: string
          readonly lease?: number
          readonly indexed?: ReadonlyArray<number>
        }> = []
        // The first intent call fails after 2 s: its retry records a 3 s lease with at most 1 s left, less than
        // the 1.5 s put budget, whatever the machine's speed.
        const plan = yield* FaultInjection.plan(["Timeout"], { only: (c) => c.operation === "intend" })
        const faults: FaultInjection.Options = {
          plan,
          retry: FaultInjection.immediateRetry(2),
          delay: "2 seconds",
          before: (call) =>
            Effect.gen(function* () {
              if (call.operation !== "intend" && call.operation !== "PutObject") return
              const intent = (yield* Effect.orDie(cache.inspect(v1.kind, v1.id))).intent
              const lease = Option.getOrUndefined(Option.map(intent, (i) => i.leaseExpiresAt))
              if (call.operation === "intend")
                return void leases.push({ call: call.operation, ...(lease ? { lease } : {}) })
              const now = yield* Clock.currentTimeMillis
              const indexed = yield* cache.intents({ expiredBefore: now + 600_000 }).pipe(
                Stream.filter((p) => p.id === v1.id),
                Stream.map((p) => p.intent.leaseExpiresAt),
                Stream.runCollect,
                Effect.orDie,
              )
              leases.push({ call: call.operation, ...(lease ? { lease } : {}), indexed: [...indexed] })
            }),
        }
        const writeThrough = yield* WriteThrough.makeWith({ lease: "3 seconds", putBudget: "1500 millis" }).pipe(
          Effect.provideService(DocumentCache.DocumentCache, FaultInjection.cache(cache, faults)),
          Effect.provideService(DocumentStore.DocumentStore, FaultInjection.store(store, faults)),
          Effect.provideService(DocketConfig.DocketConfig, settings),
        )
        expect((yield* writeThrough.write(v1))._tag).toBe("Written")
        const calls = (yield* plan.calls).map((c) => `${c.port}.${c.operation}`)
        expect(calls).toEqual(["cache.intend", "cache.intend", "cache.intend", "store.PutObject", "cache.commit"])
        // The third intent call is the renewal: it moved our lease later, in the item and in the intents index.
        expect(leases.map((l) => l.call)).toEqual(["intend", "intend", "intend", "PutObject"])
        const [, , renewal, put] = leases
        expect(renewal!.lease).toBeDefined()
        expect(put!.lease).toBeGreaterThan(renewal!.lease!)
        expect(put!.indexed).toEqual([put!.lease])
        expect((yield* cache.inspect(v1.kind, v1.id)).intent).toEqual(Option.none())
      }).pipe(Effect.provide(quiet)),
    )

    it.effect(
      "invariant 1 on the real backends: after each write or delete, cache and S3 agree, or the cache has no entry, or a rollback failure names the key",
      () =>
        Effect.gen(function* () {
          const cache = yield* DocumentCache.DocumentCache
          const store = yield* DocumentStore.DocumentStore
          const seed = fc.readConfigureGlobal().seed ?? Math.floor(Math.random() * 2 ** 31) // DOCKET_SEED or CI's seed (vitest.setup.ts)
          console.log(`invariant 1 (local) seed ${seed}`)
          const cases = fc.sample(
            fc.tuple(
              fc.array(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant("delete" as const)), {
                minLength: 2,
                maxLength: 6,
              }),
              FaultInjection.verdicts({ maxLength: 20 }),
            ),
            { numRuns: 8, seed },
          )
          let n = 0
          for (const [ops, verdicts] of cases) {
            const base = sample(`CHG-local-inv-${seed}-${n++}`, n)
            const key = `${base.kind}/${base.id}`
            const { writeThrough, plan } = yield* faultyWithPlan(verdicts)
            let tainted = false
            for (const [step, op] of ops.entries()) {
              const run =
                op === "delete"
                  ? (writeThrough.delete(base.kind, base.id) as Effect.Effect<unknown, WriteThrough.WriteError>)
                  : writeThrough.write({ ...base, version: op, title: `v${op}` })
              // A writer must end within its bound (DOCKET_WRITE_WAIT 3 s + one put budget 1.5 s, plus the
              // calls themselves): a hang fails with the seed and the schedule instead of hanging the file.
              const hung = Effect.gen(function* () {
                const calls = yield* plan.calls
                return yield* Effect.dieMessage(
                  `writer did not return within 60 s (live clock): seed ${seed}, case ${n - 1}, step ${step} (${op}), ops ${JSON.stringify(ops)}, verdicts ${JSON.stringify(verdicts)}, calls ${JSON.stringify(calls.map((c) => `${c.port}.${c.operation}:${c.verdict}`))}`,
                )
              })
              const exit = yield* Effect.exit(
                Effect.raceFirst(run, Effect.sleep("60 seconds").pipe(Effect.zipRight(hung))),
              )
              if (Exit.isFailure(exit)) {
                if (Cause.isDie(exit.cause)) return yield* Effect.failCause(exit.cause)
                const error = Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.fromNullable(failureOf(c))))
                if (Option.isSome(error) && (error.value as { _tag?: string })._tag === "RollbackFailedError") {
                  expect((error.value as WriteThrough.RollbackFailedError).key).toBe(key)
                  tainted = true
                }
              }
              const entry = yield* cache.get(base.kind, base.id, { includeExpired: true })
              const object = Option.map(yield* store.get(base.kind, base.id), (s) => s.document)
              const agree = Option.match(entry, {
                onNone: () => true,
                onSome: (e) =>
                  e._tag === "Tombstone"
                    ? Option.isNone(object)
                    : Option.isSome(object) &&
                      e.summary.version === object.value.version &&
                      (e.document === undefined || Document.sameContent(e.document, object.value)),
              })
              if (!agree)
                expect(tainted, `seed ${seed}: disagreement after ${op} with ${verdicts.join(",")}`).toBe(true)
              else tainted = false
            }
          }
        }).pipe(Effect.provide(quiet)),
      240_000,
    )
  })
})

const failureOf = (cause: Cause.Cause<unknown>): unknown => Option.getOrUndefined(Cause.failureOption(cause))

describe("Docket.layer's rateLimit option", () => {
  it.effect("every DynamoDB call of the cache passes the given limiter; S3 calls do not", () =>
    Effect.gen(function* () {
      const isolated = yield* Effect.promise(() => Testing.isolated("rate-limit-option"))
      let calls = 0
      const counting = Layer.succeed(RateLimit.RateLimit, {
        rps: 1,
        burst: 1,
        limit: (effect) =>
          Effect.zipRight(
            Effect.sync(() => {
              calls += 1
            }),
            effect,
          ),
      })
      const docket = LocalDocket.layer(
        isolated,
        // A real limiter at 1 rps would make the calls below take seconds: the option replaces it.
        { rps: 1 },
        { rateLimit: counting },
      )
      const document = fc.sample(Arbitraries.change({ maxTextLength: 12, ids: ["CHG-rl-1"] }), {
        numRuns: 1,
        seed: 4,
      })[0]!
      yield* Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        yield* cache.get(document.kind, document.id)
        expect(calls).toBe(1)
        const limiter = yield* RateLimit.RateLimit
        expect(limiter.rps).toBe(1)
        const written = yield* WriteThrough.write(document)
        expect(written._tag).toBe("Written")
        // The write protocol: the intent and the commit, each one DynamoDB call; the S3 put is not counted.
        expect(calls).toBe(3)
      }).pipe(Effect.provide(Layer.merge(docket, quiet)))
    }),
  )
})

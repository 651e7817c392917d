import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as DocketConfig from "../src/DocketConfig.js"
import * as RateLimit from "../src/RateLimit.js"

/** Every window [t_i, t_j] between two admitted calls holds at most rps * t + burst calls. */
const maxExcess = (times: ReadonlyArray<number>, rps: number, burst: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let worst = Number.NEGATIVE_INFINITY
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const calls = j - i + 1
      const allowed = (rps * ((sorted[j] as number) - (sorted[i] as number))) / 1000 + burst
      worst = Math.max(worst, calls - allowed)
    }
  }
  return worst
}

describe("RateLimit", () => {
  it.effect.prop(
    "never lets more than rps * t + burst calls through in any window t (invariant 5)",
    [
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 10 }),
      fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 16 }),
    ],
    ([rps, burst, arrivals]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const limiter = yield* RateLimit.make({ rps, burst })
          const admitted: Array<number> = []
          const fibers = yield* Effect.forEach(arrivals, (at) =>
            Effect.fork(
              Effect.sleep(at).pipe(
                Effect.zipRight(
                  limiter.limit(
                    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => admitted.push(now))),
                  ),
                ),
              ),
            ),
          )
          yield* TestClock.adjust(3000 + Math.ceil((arrivals.length * 1000) / rps) + 2000)
          yield* Fiber.joinAll(fibers)
          expect(admitted.length).toBe(arrivals.length)
          expect(maxExcess(admitted, rps, burst)).toBeLessThanOrEqual(1e-9)
        }),
      ),
    { fastCheck: { numRuns: 200 } },
  )

  it.effect.prop(
    "waiters are served in arrival order (FIFO), whatever the rate, burst and arrival times",
    [
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 5 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 16 }),
    ],
    ([rps, burst, arrivals]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const limiter = yield* RateLimit.make({ rps, burst })
          const served: Array<number> = []
          const fibers = yield* Effect.forEach(arrivals, (at) =>
            Effect.fork(Effect.sleep(at).pipe(Effect.zipRight(limiter.limit(Effect.sync(() => served.push(at)))))),
          )
          yield* TestClock.adjust(1000 + Math.ceil((arrivals.length * 1000) / rps) + 2000)
          yield* Fiber.joinAll(fibers)
          expect(served).toStrictEqual([...arrivals].sort((a, b) => a - b))
        }),
      ),
    { fastCheck: { numRuns: 30 } },
  )

  it.effect("lets a burst through at once, then spaces calls at 1 / rps", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const limiter = yield* RateLimit.make({ rps: 10, burst: 3 })
        const admitted: Array<number> = []
        const fibers = yield* Effect.forEach(Array.from({ length: 6 }), () =>
          Effect.fork(
            limiter.limit(Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => admitted.push(t)))),
          ),
        )
        yield* TestClock.adjust("1 second")
        yield* Fiber.joinAll(fibers)
        expect(admitted).toStrictEqual([0, 0, 0, 100, 200, 300])
      }),
    ),
  )

  it.effect("a wait for a token is interruptible and does not consume the token", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const limiter = yield* RateLimit.make({ rps: 1, burst: 1 })
        yield* limiter.limit(Effect.void)
        const waiting = yield* Effect.fork(limiter.limit(Effect.succeed("late")))
        yield* TestClock.adjust("100 millis")
        const exit = yield* Fiber.interrupt(waiting)
        expect(Exit.isInterrupted(exit)).toBe(true)
        const next = yield* Effect.fork(limiter.limit(Effect.succeed("next")))
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(next)).toBe("next")
      }),
    ),
  )

  it.effect("a rate that is not a positive finite number is a defect naming rps", () =>
    Effect.gen(function* () {
      for (const rps of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        const exit = yield* Effect.exit(Effect.scoped(RateLimit.make({ rps })))
        expect(Exit.isFailure(exit) && String(Cause.squash(exit.cause))).toContain("rps must be > 0")
      }
      const ok = yield* Effect.exit(Effect.scoped(RateLimit.make({ rps: 0.5 })))
      expect(Exit.isSuccess(ok)).toBe(true)
    }),
  )

  it.effect(
    "layer and layerConfig build the bucket they are given (rps and burst from DOCKET_RPS / DOCKET_BURST)",
    () =>
      Effect.gen(function* () {
        const given = yield* Effect.provide(RateLimit.RateLimit, RateLimit.layer({ rps: 7, burst: 3 }))
        expect([given.rps, given.burst]).toEqual([7, 3])
        const configured = yield* Effect.provide(
          RateLimit.RateLimit,
          RateLimit.layerConfig.pipe(
            Layer.provide(DocketConfig.layer(DocketConfig.make({ bucket: "b", rps: 5, burst: 2 }))),
          ),
        )
        expect([configured.rps, configured.burst]).toEqual([5, 2])
        // The configured bucket limits: a burst of 2, then one call per 200 ms.
        const limiter = yield* RateLimit.make({ rps: configured.rps, burst: configured.burst })
        const fiber = yield* Effect.fork(
          Effect.forEach(Array.from({ length: 3 }), () => limiter.limit(Clock.currentTimeMillis)),
        )
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toEqual([0, 0, 200])
      }).pipe(Effect.scoped),
  )

  it.effect("the unlimited layer never waits", () =>
    Effect.gen(function* () {
      const results = yield* Effect.forEach(Array.from({ length: 1000 }), (_, i) =>
        RateLimit.limited(Effect.succeed(i)),
      )
      expect(results.length).toBe(1000)
    }).pipe(Effect.provide(RateLimit.layerUnlimited)),
  )

  it.scoped("measureWait tells the time a call waited for a token from the call itself", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make({ rps: 10, burst: 1 })
      const call = limiter.limit(Effect.sleep("30 millis"))
      const head = yield* Effect.fork(RateLimit.measureWait(call))
      yield* TestClock.adjust("30 millis")
      const first = yield* Fiber.join(head)
      // The bucket is empty now: the next call waits 100 ms for its token, minus the 30 ms the first one took.
      const fiber = yield* Effect.fork(RateLimit.measureWait(call))
      yield* TestClock.adjust("200 millis")
      const [, waited] = yield* Fiber.join(fiber)
      expect(first[1]).toBe(0)
      expect(waited).toBe(70)
      // Outside measureWait nothing is recorded anywhere.
      const plain = yield* Effect.fork(call)
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(plain)
    }),
  )

  it.scoped(
    "a caller arriving once a token accrued does not take it ahead of a fiber already waiting (fast path)",
    () =>
      Effect.gen(function* () {
        // rps 3: the next token accrues at 333.333... ms; the waiter's sleep is rounded up to the
        // microsecond (333.334 ms), and the newcomer arrives in between (333.3335 ms), when a whole
        // token is there and a fiber is still waiting for it. The waiter arrived first: it is served first.
        const limiter = yield* RateLimit.make({ rps: 3, burst: 1 })
        const served: Array<string> = []
        yield* limiter.limit(Effect.void)
        const waiter = yield* Effect.fork(limiter.limit(Effect.sync(() => served.push("waiter"))))
        const newcomer = yield* Effect.fork(
          Effect.zipRight(
            Effect.sleep(Duration.nanos(333_333_500n)),
            limiter.limit(Effect.sync(() => served.push("newcomer"))),
          ),
        )
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(waiter)
        yield* Fiber.join(newcomer)
        expect(served).toStrictEqual(["waiter", "newcomer"])
      }),
  )

  it("a call with a whole token and nobody waiting runs its effect at once, without the turn (fast path)", () => {
    // burst 1: exactly one token at the start. The fast path takes it and runs the effect in the
    // same step; the slow path goes through the turn's semaphore, whose acquire is an async step:
    // under runSync's scheduler a fiber forked just before then runs ahead of the effect.
    const order: Array<string> = []
    Effect.runSync(
      Effect.scoped(
        Effect.gen(function* () {
          const limiter = yield* RateLimit.make({ rps: 4, burst: 1 })
          const other = yield* Effect.fork(Effect.sync(() => order.push("other")))
          yield* limiter.limit(Effect.sync(() => order.push("limited")))
          yield* Fiber.join(other)
        }),
      ),
    )
    expect(order).toStrictEqual(["limited", "other"])
  })
})

/**
 * Event sync's signals that issue #11's mutation pass found unasserted: a record that
 * meets an expired write intent (the intent resolved and logged as resolved by event
 * sync, the record failed retryably with a contention error naming the key, so the
 * retry converges again), a malformed record outside SQS (no message id at all), and
 * the consumer's quiet period (`idle` waits 50 ms of clock time after the last
 * arrival: clock time on the TestClock, not a timing). Memory layers, one attempt per
 * record.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as DocumentCache from "../src/DocumentCache.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as SyncModel from "./S3EventSyncModel.js"
import { intentRequest, memory, NOW, outcomes } from "./support/EventSyncMemory.js"
import { logsOf } from "./support/Logs.js"

describe("S3EventSync signals", () => {
  it.effect(
    "the intent is resolved (logged by event-sync) and the record fails retryably with a contention error naming the key",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { cache, store, context } = yield* memory()
        const v1 = SyncModel.document(0, 1, "one")
        const { key } = yield* store.put(v1)
        yield* cache.put(v1, { s3Key: key })
        yield* cache.intend(
          intentRequest(
            v1,
            key,
            "w-stalled",
            { _tag: "Put", document: { ...v1, version: 2, title: "two" }, etag: "not-in-s3" },
            NOW - 1,
          ),
        )
        const { value, lines } = yield* logsOf(
          S3EventSync.processEvent(SyncModel.notification([{ key, sequencer: "01" }])).pipe(Effect.provide(context())),
        )
        const [error] = outcomes(value)
        expect(error).toMatchObject({ _tag: "EventSyncError", reason: "CacheFailed", key, retryable: true })
        expect((error as { cause?: unknown }).cause).toEqual(
          new DocumentCache.CacheError({
            reason: "Contention",
            operation: "event-sync",
            key: `${v1.kind}/${v1.id}`,
            cause: "a write intent was resolved; converging again",
          }),
        )
        const resolved = lines.find((l) => l.fields.operation === "heal.resolve")
        expect(resolved?.fields).toMatchObject({ by: "event-sync", writer: "w-stalled", outcome: "dropped" })
        expect((yield* cache.inspect(v1.kind, v1.id)).intent).toStrictEqual(Option.none())
      }),
  )

  it.effect(
    "a malformed record of a direct notification (no SQS) carries no message id, not even an undefined one",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const { context } = yield* memory()
        const result = yield* S3EventSync.processEvent({ Records: [{ eventSource: "aws:s3", s3: {} }] }).pipe(
          Effect.provide(context()),
        )
        expect(result.results).toHaveLength(1)
        const [entry] = result.results
        expect(entry?.location).toBe("Records[0]")
        expect(Object.hasOwn(entry!, "messageId")).toBe(false)
        expect(outcomes(result)).toMatchObject([{ _tag: "MalformedEventError" }])
      }),
  )

  it.scoped("the consumer's idle waits a quiet period of 50 ms of clock time since it was asked, no less", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const { context } = yield* memory()
      const consumer = yield* S3EventSync.consume(() => () => {}).pipe(Effect.provide(context()))
      // Long past the consumer's start: only the quiet period since idle was asked counts.
      yield* TestClock.adjust("100 millis")
      const idle = yield* Effect.fork(consumer.idle)
      const turns = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow(), { discard: true })
      yield* turns
      expect(Option.isNone(yield* Fiber.poll(idle))).toBe(true)
      yield* TestClock.adjust("49 millis")
      yield* turns
      expect(Option.isNone(yield* Fiber.poll(idle))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* turns
      expect(Option.isSome(yield* Fiber.poll(idle))).toBe(true)
    }),
  )
})

import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { createTable } from "@docket/local/LocalStack"
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as DynamoDB from "../src/DocumentCache/DynamoDB.js"
import { DocumentCache } from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as RateLimit from "../src/RateLimit.js"
import * as Retry from "../src/Retry.js"
import { change } from "./DocumentCache.contract.js"

class Fault extends Error {
  constructor(
    override readonly name: string,
    readonly $metadata: { httpStatusCode: number },
    readonly retryable: boolean,
  ) {
    super(name)
  }
}

const policy: Retry.Policy = { maxAttempts: 4, base: "100 millis", cap: "300 millis" }

describe("Retry", () => {
  it.effect("retries retryable failures up to maxAttempts with capped backoff, and nothing else", () =>
    Effect.gen(function* () {
      let attempts = 0
      const failing = (retryable: boolean) =>
        Effect.suspend(() => {
          attempts++
          return Effect.fail({ retryable })
        })
      const fiber = yield* Effect.fork(Effect.either(Retry.retrying(policy)(failing(true))))
      // Delays 100, 200, 300 (capped), each jittered by +/-20%: not before 480 ms, done by 720 ms.
      yield* TestClock.adjust("479 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(attempts).toBe(4)
      attempts = 0
      yield* Effect.either(Retry.retrying(policy)(failing(false)))
      expect(attempts).toBe(1)
    }),
  )

  it("classifies throttling, 5xx and network errors as retryable, validation and conditions as not", () => {
    const cases: Array<[unknown, boolean]> = [
      [new Fault("ThrottlingException", { httpStatusCode: 400 }, true), true],
      [new Fault("ProvisionedThroughputExceededException", { httpStatusCode: 400 }, true), true],
      [new Fault("InternalServerError", { httpStatusCode: 500 }, true), true],
      [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
      [new Fault("ValidationException", { httpStatusCode: 400 }, false), false],
      [new Fault("ConditionalCheckFailedException", { httpStatusCode: 400 }, false), false],
      [new Fault("TransactionCanceledException", { httpStatusCode: 400 }, false), false],
    ]
    for (const [error, retryable] of cases) expect(Retry.classify(error).retryable).toBe(retryable)
  })

  it.effect("the DynamoDB backend retries throttled calls, counts them, and never retries a stale write", () =>
    Effect.gen(function* () {
      const table = `docket-retry-${crypto.randomUUID().slice(0, 8)}`
      const config = Testing.clientConfig()
      yield* Effect.promise(() => createTable(config, table))
      const real = new DynamoDBClient({ ...config.dynamodb, maxAttempts: 1 })
      let throttleNext = 0
      let sends = 0
      const faulty = {
        send: (command: unknown, options: unknown) => {
          sends++
          if (throttleNext > 0) {
            throttleNext--
            return Promise.reject(new Fault("ThrottlingException", { httpStatusCode: 400 }, true))
          }
          return (real.send as (c: unknown, o: unknown) => Promise<unknown>)(command, options)
        },
      } as unknown as DynamoDBClient
      const layer = Layer.effect(
        DocumentCache,
        DynamoDB.make(faulty, { table, retentionDays: 365, retry: policy }),
      ).pipe(Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)))
      // The operation's one log line carries the attempts it took, read after the retries.
      const lines: Array<Record<string, unknown>> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ annotations }) => {
          lines.push(Object.fromEntries(HashMap.toEntries(annotations)))
        }),
      )
      yield* Effect.gen(function* () {
        const cache = yield* DocumentCache
        const doc = change("retry", 2, ["acme"], "2026-06-20T10:00:00Z")
        const throttlesBefore = (yield* Metric.value(CacheMetrics.throttles)).count
        throttleNext = 2
        const fiber = yield* Effect.fork(cache.put(doc, { s3Key: "changes/CHG-retry.json" }))
        yield* TestClock.adjust("5 seconds")
        expect((yield* Fiber.join(fiber))._tag).toBe("Written")
        // GetItem throttled twice then answered, then one TransactWriteItems.
        expect(sends).toBe(4)
        expect((yield* Metric.value(CacheMetrics.throttles)).count - throttlesBefore).toBe(2)
        expect(lines.find((line) => line.operation === "cache.put")).toMatchObject({
          outcome: "Written",
          attempts: 4,
          requests: 2,
        })
        sends = 0
        const stale = yield* Effect.flip(cache.put({ ...doc, version: 1 }, { s3Key: "changes/CHG-retry.json" }))
        expect(stale).toMatchObject({ _tag: "StaleWriteError", reason: "OlderVersion" })
        expect(sends).toBe(1)
        sends = 0
        throttleNext = 10
        const exhausted = yield* Effect.fork(Effect.flip(cache.get("change", "CHG-retry")))
        yield* TestClock.adjust("5 seconds")
        expect(yield* Fiber.join(exhausted)).toMatchObject({ _tag: "CacheError", reason: "Throttled", retryable: true })
        expect(sends).toBe(4)
        throttleNext = 0
      }).pipe(Effect.provide(Layer.merge(layer, capture)), Effect.ensuring(Effect.sync(() => real.destroy())))
    }),
  )
})

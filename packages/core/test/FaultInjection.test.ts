import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FaultInjection from "../src/FaultInjection.js"

const document = fc.sample(Arbitraries.change({ maxTextLength: 10 }), { numRuns: 1, seed: 11 })[0]!

describe("FaultInjection", () => {
  it.effect("verdicts are consumed in call order: failures do not apply the call, Lost applies it and fails", () =>
    Effect.gen(function* () {
      const memory = yield* DocumentStore.makeMemory()
      const plan = yield* FaultInjection.plan(["Throttle", "Denied", "Timeout", "Lost"])
      const store = FaultInjection.store(memory, { plan })
      for (const reason of ["Throttled", "AccessDenied", "Timeout"]) {
        const error = yield* Effect.flip(store.put(document))
        expect(error).toMatchObject({ _tag: "StoreError", reason, operation: "PutObject" })
        expect(yield* memory.get(document.kind, document.id)).toEqual(Option.none())
      }
      const lost = yield* Effect.flip(store.put(document))
      expect(lost).toMatchObject({ _tag: "StoreError", reason: "Timeout" })
      expect(Option.isSome(yield* memory.get(document.kind, document.id))).toBe(true)
      // The plan is used up: every further call is Ok.
      yield* store.delete(document.kind, document.id)
      expect((yield* plan.calls).map((c) => c.verdict)).toEqual(["Throttle", "Denied", "Timeout", "Lost", "Ok"])
    }).pipe(Effect.provide(DocumentKind.layerDefault)),
  )

  it.effect("with a retry policy each attempt draws its own verdict and only retryable faults are retried", () =>
    Effect.gen(function* () {
      const memory = yield* DocumentCache.makeMemory()
      const plan = yield* FaultInjection.plan(["Throttle", "Unavailable", "Ok", "Denied", "Ok"])
      const cache = FaultInjection.cache(memory, { plan, retry: FaultInjection.immediateRetry(3) })
      const written = yield* cache.put(document, { s3Key: "changes/x.json" })
      expect(written._tag).toBe("Written")
      const denied = yield* Effect.flip(cache.get(document.kind, document.id))
      expect(denied).toMatchObject({ _tag: "CacheError", reason: "AccessDenied", operation: "get" })
      expect((yield* plan.calls).map((c) => `${c.operation}:${c.verdict}`)).toEqual([
        "put:Throttle",
        "put:Unavailable",
        "put:Ok",
        "get:Denied",
      ])
    }).pipe(Effect.provide(DocumentKind.layerDefault)),
  )

  it.effect("`only` confines faults to matching calls; listings fail at the start of the stream", () =>
    Effect.gen(function* () {
      const memory = yield* DocumentStore.makeMemory()
      const plan = yield* FaultInjection.plan(["Unavailable"], { only: (call) => call.operation === "ListObjectsV2" })
      const store = FaultInjection.store(memory, { plan })
      yield* store.put(document)
      const error = yield* Effect.flip(Stream.runCollect(store.list()))
      expect(error).toMatchObject({ _tag: "StoreError", reason: "Unavailable", operation: "ListObjectsV2" })
      const listed = yield* Stream.runCollect(store.list())
      expect(Chunk.size(listed)).toBe(1)
      expect((yield* plan.calls).map((c) => `${c.operation}:${c.verdict}`)).toEqual([
        "PutObject:Ok",
        "ListObjectsV2:Unavailable",
        "ListObjectsV2:Ok",
      ])
    }).pipe(Effect.provide(DocumentKind.layerDefault)),
  )
})

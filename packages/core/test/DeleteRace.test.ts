/**
 * The delete race (issue #11): a fallback read that runs between a write-through
 * delete's cache step and its S3 delete must not put the document back in the
 * cache. Every port call of the delete and of the readers (their background
 * refills included) waits at a turnstile; the drawn schedule picks which waiting
 * call goes next, so the property explores interleavings of the delete's intent,
 * S3 delete and commit with each read's cache look-up, S3 read and refill.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as WriteThrough from "../src/WriteThrough.js"
import { yieldTurn } from "./support/EventLoop.js"

const quiet = Logger.minimumLogLevel(LogLevel.None)

const base: Document.AnyDocument = {
  ...fc.sample(Arbitraries.change({ maxTextLength: 12, ids: ["CHG-delrace-1"] }), { numRuns: 1, seed: 3 })[0]!,
  version: 1,
  schedule: { start: "2099-01-01T10:00:00Z", end: "2099-01-01T11:00:00Z" },
}

/** Port calls wait here; the driver lets one through at a time, in the order the schedule draws. */
const turnstile = () => {
  const waiting: Array<{ readonly label: string; readonly go: Deferred.Deferred<void> }> = []
  const pass = <A, E>(label: string, self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(Deferred.make<void>(), (go) =>
      Effect.zipRight(
        Effect.zipRight(
          Effect.sync(() => waiting.push({ label, go })),
          Deferred.await(go),
        ),
        self,
      ),
    )
  const cache = (service: DocumentCache.Service, who: string): DocumentCache.Service => ({
    ...service,
    get: (k, i, o) => pass(`${who} cache.get`, service.get(k, i, o)),
    inspect: (k, i) => pass(`${who} cache.inspect`, service.inspect(k, i)),
    put: (d, o) => pass(`${who} cache.put`, service.put(d, o)),
    intend: (r) => pass(`${who} cache.intend`, service.intend(r)),
    commit: (r) => pass(`${who} cache.commit`, service.commit(r)),
    clearIntent: (k, i, w) => pass(`${who} cache.clearIntent`, service.clearIntent(k, i, w)),
  })
  const store = (service: DocumentStore.Service, who: string): DocumentStore.Service => ({
    ...service,
    get: (k, i) => pass(`${who} s3.get`, service.get(k, i)),
    head: (key) => pass(`${who} s3.head`, service.head(key)),
    // A held delete still ends at its deadline, as the real stores' own timers end it.
    delete: (k, i, c) =>
      DocumentStore.withinDeadline(
        pass(`${who} s3.delete`, service.delete(k, i, c)),
        "DeleteObject",
        service.keyOf(k, i),
        c?.deadline,
      ),
  })
  return { waiting, cache, store }
}

const settle = Effect.repeatN(Effect.yieldNow(), 10)

describe("a write-through delete racing fallback reads", () => {
  it.effect.prop(
    "any interleaving of fallback reads with a write-through delete ends with the cache holding no live entry for a document S3 no longer has",
    [
      fc.constantFrom("empty" as const, "cached" as const),
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.nat(5), { minLength: 30, maxLength: 30 }),
    ],
    ([initial, readers, picks]) =>
      Effect.gen(function* () {
        // Let the test runner's worker breathe between runs (support/EventLoop.ts says why).
        yield* yieldTurn
        const cache = yield* DocumentCache.makeMemory()
        const store = yield* DocumentStore.makeMemory({ bucket: "docs" })
        const settings = DocketConfig.make({ bucket: "docs" })
        yield* store.put(base)
        if (initial === "cached") yield* Effect.orDie(cache.put(base, { s3Key: store.keyOf(base.kind, base.id) }))
        const gate = turnstile()
        const deleter = yield* WriteThrough.makeWith().pipe(
          Effect.provideService(DocumentCache.DocumentCache, gate.cache(cache, "delete")),
          Effect.provideService(DocumentStore.DocumentStore, gate.store(store, "delete")),
          Effect.provideService(DocketConfig.DocketConfig, settings),
        )
        const readerServices = yield* Effect.forEach(Array.from({ length: readers }), (_, i) =>
          FallbackReader.make.pipe(
            Effect.provideService(DocumentCache.DocumentCache, gate.cache(cache, `reader ${i}`)),
            Effect.provideService(DocumentStore.DocumentStore, gate.store(store, `reader ${i}`)),
            Effect.provideService(DocketConfig.DocketConfig, settings),
          ),
        )
        const deletion = yield* Effect.fork(deleter.delete(base.kind, base.id))
        const reads = yield* Effect.forEach(readerServices, (r) => Effect.fork(r.read(base.kind, base.id)))
        const order: Array<string> = []
        // Let one waiting call through at a time; the refills join the queue as the reads start them.
        for (let step = 0; step < 200; step++) {
          yield* settle
          if (gate.waiting.length === 0) break
          const [next] = gate.waiting.splice(picks[step % picks.length]! % gate.waiting.length, 1)
          order.push(next!.label)
          yield* Deferred.succeed(next!.go, undefined)
        }
        expect(gate.waiting, "the schedule ran out of steps").toEqual([])
        const deleted = yield* Fiber.join(deletion)
        yield* Effect.forEach(reads, Fiber.join)
        yield* Effect.forEach(readerServices, (r) => r.awaitRefills)
        expect(deleted._tag, order.join(" > ")).toBe("Deleted")
        const s3 = yield* store.get(base.kind, base.id)
        expect(s3).toEqual(Option.none())
        const entry = yield* cache.get(base.kind, base.id)
        expect(
          Option.map(entry, (e) => e._tag),
          `the cache holds a live entry for a deleted document after ${order.join(" > ")}`,
        ).not.toEqual(Option.some("Cached"))
      }).pipe(Effect.provide(DocumentKind.layerDefault), Effect.scoped, Effect.provide(quiet)),
    { fastCheck: { numRuns: 300 } },
  )
})

/**
 * FallbackReader's rarer signals on the memory ports: a refill that finds the same
 * document already written (the read raced a writer of that very document), the
 * dry-run refill's line, and who a background intent resolution is logged as.
 * TestClock: the resolved intent's lease ends at a known instant.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Arbitraries from "../src/Arbitraries.js"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as FaultInjection from "../src/FaultInjection.js"
import { logsOf } from "./support/Logs.js"

const base = fc.sample(Arbitraries.announcement({ maxTextLength: 20, ids: ["ANN-edge-1"] }), {
  numRuns: 1,
  seed: 9,
})[0]!
const version = (v: number): Document.AnyDocument => ({ ...base, version: v, publishAt: "2099-01-01T00:00:00Z" })
const key = `${base.kind}/${base.id}`

const refills = (outcome: string) =>
  Effect.map(Metric.value(Metric.tagged(CacheMetrics.refills, "outcome", outcome)), (s) => s.count)

/** A reader over memory ports; `wrap` puts something in front of the cache the reader sees. */
const readOnce = (
  setup: (cache: DocumentCache.Service, store: DocumentStore.MemoryStore) => Effect.Effect<void, unknown>,
  settings: Partial<DocketConfig.Settings> = {},
  wrap: (cache: DocumentCache.Service) => DocumentCache.Service = (c) => c,
) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory()
    yield* Effect.orDie(setup(cache, store))
    const reader = yield* FallbackReader.make.pipe(
      Effect.provideService(DocumentCache.DocumentCache, wrap(cache)),
      Effect.provideService(DocumentStore.DocumentStore, store),
      Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test", ...settings })),
    )
    const { value, lines } = yield* logsOf(Effect.zipLeft(reader.read(base.kind, base.id), reader.awaitRefills))
    return { value, lines, cache }
  }).pipe(Effect.scoped, Effect.provide(DocumentKind.layerDefault))

describe("FallbackReader edges", () => {
  it.effect("a refill that finds the very document already cached is logged unchanged and counted ok", () =>
    Effect.gen(function* () {
      const ok = yield* refills("ok")
      const skipped = yield* refills("skipped")
      let store: DocumentStore.MemoryStore | undefined
      const { value, lines } = yield* readOnce(
        (_, s) => {
          store = s
          return Effect.asVoid(s.put(version(1)))
        },
        {},
        (cache) =>
          FaultInjection.cache(cache, {
            plan: Effect.runSync(FaultInjection.healthy),
            // A writer of the same document commits it between the read's S3 read and its refill.
            before: (call) =>
              call.operation === "put"
                ? Effect.orDie(cache.put(version(1), { s3Key: store!.keyOf(base.kind, base.id) }))
                : Effect.void,
          }),
      )
      expect(Option.map(value, (r) => [r.source, r.document.version])).toEqual(Option.some(["store", 1]))
      const refill = lines.find((l) => l.fields.operation === "fallbackReader.refill")
      expect(refill?.fields).toMatchObject({ key, version: 1, reason: "miss", outcome: "unchanged" })
      expect(yield* refills("ok")).toBe(ok + 1)
      expect(yield* refills("skipped")).toBe(skipped)
    }),
  )

  it.effect("a dry run logs the refill it would make under the refill's own message, and makes none", () =>
    Effect.gen(function* () {
      const { lines, cache } = yield* readOnce((_, store) => Effect.asVoid(store.put(version(2))), { dryRun: true })
      const line = lines.find((l) => l.fields.operation === "fallbackReader.refill")
      expect(line?.message).toBe("fallbackReader.refill")
      expect(line?.fields).toMatchObject({ key, outcome: "dry-run", would: `put cache ${key} version 2` })
      expect(yield* cache.get(base.kind, base.id)).toEqual(Option.none())
    }),
  )

  /** v1 committed in both ports and a dead writer's intent of v2 whose lease ends in 1 s; then the clock moves by `by`. */
  const withIntent = (by: Duration.DurationInput) => (cache: DocumentCache.Service, store: DocumentStore.MemoryStore) =>
    Effect.gen(function* () {
      const out = yield* store.put(version(1))
      const s3Key = store.keyOf(base.kind, base.id)
      yield* cache.put(version(1), { s3Key, etag: out.etag })
      yield* cache.intend({
        kind: base.kind,
        id: base.id,
        writer: "dead",
        s3Key,
        leaseExpiresAt: (yield* TestClock.currentTimeMillis) + 1_000,
        change: { _tag: "Put", document: version(2), etag: DocumentStore.expectedEtag(version(2)) },
      })
      yield* TestClock.adjust(by)
    })

  it.effect(
    "an intent whose lease ends at the read's instant is resolved in the background, logged as resolved by the reader; a live one is left alone",
    () =>
      Effect.gen(function* () {
        const expired = yield* readOnce(withIntent("1 second"))
        const line = expired.lines.find((l) => l.fields.operation === "heal.resolve")
        expect(line?.fields).toMatchObject({ key, by: "reader", writer: "dead", outcome: "dropped" })
        expect(Option.isNone((yield* Effect.orDie(expired.cache.inspect(base.kind, base.id))).intent)).toBe(true)

        const live = yield* readOnce(withIntent("999 millis"))
        expect(live.lines.filter((l) => l.fields.operation === "heal.resolve")).toEqual([])
        expect(Option.isSome((yield* Effect.orDie(live.cache.inspect(base.kind, base.id))).intent)).toBe(true)
      }),
  )
})

/**
 * FallbackReader against the memory ports, with faults injected into the cache
 * (and, separately, into the refill).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Arbitraries from "../src/Arbitraries.js"
import type * as CacheEntry from "../src/CacheEntry.js"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as FaultInjection from "../src/FaultInjection.js"

const runs = Number(process.env.DOCKET_PROPERTY_RUNS ?? 500)
let schedulesTried = 0
afterAll(() => {
  console.log(`FallbackReader fault schedules tried: ${schedulesTried}`)
})

const quiet = Logger.minimumLogLevel(LogLevel.None)
const registry = DocumentKind.defaultRegistry

const base = fc.sample(Arbitraries.announcement({ maxTextLength: 20, ids: ["ANN-fr-1"] }), { numRuns: 1, seed: 3 })[0]!
const versionOf = (version: number, alt: boolean): Document.AnyDocument => ({
  ...base,
  version,
  title: alt ? `v${version} (other)` : `v${version}`,
  // Far in the future: never expired by the retention window.
  publishAt: "2099-01-01T00:00:00Z",
})

type CacheState =
  | { readonly _tag: "None" }
  | {
      readonly _tag: "Cached"
      readonly version: number
      readonly alt: boolean
      readonly pointer: boolean
      readonly expired: boolean
    }
  | { readonly _tag: "Tombstone" }

const cacheState: fc.Arbitrary<CacheState> = fc.oneof(
  fc.constant<CacheState>({ _tag: "None" }),
  fc.record({
    _tag: fc.constant("Cached" as const),
    version: fc.integer({ min: 1, max: 4 }),
    alt: fc.boolean(),
    pointer: fc.boolean(),
    expired: fc.boolean(),
  }),
  fc.constant<CacheState>({ _tag: "Tombstone" }),
)

const s3State = fc.option(fc.record({ version: fc.integer({ min: 1, max: 4 }), alt: fc.boolean() }), { nil: undefined })

const entryOf = (state: CacheState, s3Key: string): Option.Option<CacheEntry.Entry> => {
  switch (state._tag) {
    case "None":
      return Option.none()
    case "Tombstone":
      return Option.some({ _tag: "Tombstone", kind: base.kind, id: base.id, expiresAt: 4_102_444_800 })
    case "Cached": {
      const document = versionOf(state.version, state.alt)
      return Option.some({
        _tag: "Cached",
        summary: registry.summarize(document),
        document: state.pointer ? undefined : document,
        s3Key,
        expiresAt: state.expired ? 1 : 4_102_444_800,
      })
    }
  }
}

const world = (
  verdicts: ReadonlyArray<FaultInjection.Verdict>,
  options: {
    readonly settings?: Partial<DocketConfig.Settings>
    readonly before?: FaultInjection.Options["before"]
  } = {},
) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory()
    const plan = yield* FaultInjection.plan(verdicts)
    const faults: FaultInjection.Options = {
      plan,
      retry: FaultInjection.immediateRetry(2),
      ...(options.before ? { before: options.before } : {}),
    }
    const reader = yield* FallbackReader.make.pipe(
      Effect.provideService(DocumentCache.DocumentCache, FaultInjection.cache(cache, faults)),
      Effect.provideService(
        DocumentStore.DocumentStore,
        FaultInjection.store(store, { plan: yield* FaultInjection.healthy }),
      ),
      Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test", ...options.settings })),
    )
    return { cache, store, reader, plan }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

describe("FallbackReader", () => {
  it.effect(
    "invariant 3: a fallback read returns exactly S3's document, whatever the cache holds or fails with; refills never replace a newer entry or a tombstone",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            s3State,
            cacheState,
            FaultInjection.verdicts({ maxLength: 6 }),
            async (s3, cached, verdicts) => {
              schedulesTried++
              await Effect.runPromise(
                Effect.gen(function* () {
                  const w = yield* world(verdicts)
                  const s3Key = w.store.keyOf(base.kind, base.id)
                  const inS3 = s3 === undefined ? undefined : versionOf(s3.version, s3.alt)
                  if (inS3 !== undefined) yield* w.store.put(inS3)
                  const before = entryOf(cached, s3Key)
                  yield* w.cache.restore(base.kind, base.id, before, { _tag: "Absent" })

                  const result = yield* w.reader.read(base.kind, base.id)
                  const live = cached._tag === "Cached" && !cached.pointer && !cached.expired
                  if (Option.isSome(result) && result.value.source === "cache") {
                    // Only a live entry with a body (read once the cache retries got through) is a hit.
                    expect(live).toBe(true)
                    const hit = Option.getOrThrow(before)
                    expect(hit._tag === "Cached" && hit.document).toEqual(result.value.document)
                  } else {
                    // Invariant 3: exactly S3's document (or nothing when S3 has none).
                    expect(Option.getOrUndefined(Option.map(result, (r) => r.document))).toEqual(inS3)
                  }

                  yield* w.reader.awaitRefills
                  const after = yield* w.cache.get(base.kind, base.id, { includeExpired: true })
                  const afterDocument = Option.getOrUndefined(after)
                  const unchanged = JSON.stringify(Option.getOrNull(after)) === JSON.stringify(Option.getOrNull(before))
                  if (!unchanged) {
                    // A refill happened: it holds S3's document, and it replaced neither a tombstone nor a newer version.
                    expect(afterDocument?._tag === "Cached" && afterDocument.document).toEqual(inS3)
                    expect(cached._tag).not.toBe("Tombstone")
                    if (cached._tag === "Cached") expect(cached.version).toBeLessThanOrEqual(inS3!.version)
                  }
                }).pipe(Effect.scoped, Effect.provide(quiet)),
              )
            },
          ),
          { numRuns: runs },
        ),
      ),
    120_000,
  )

  it.scoped("a refill that hangs neither delays nor fails the read, and the layer's scope ends it", () =>
    Effect.gen(function* () {
      const w = yield* world([], {
        before: (call) => (call.operation === "put" ? Effect.never : Effect.void),
      })
      const v1 = versionOf(1, false)
      yield* w.store.put(v1)
      const result = yield* w.reader.read(base.kind, base.id)
      expect(Option.map(result, (r) => [r.source, r.document])).toEqual(Option.some(["store", v1]))
      expect(yield* w.cache.get(base.kind, base.id)).toEqual(Option.none())
    }).pipe(Effect.provide(quiet)),
  )

  it.effect("a miss refills the cache, so the next read is a hit", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const w = yield* world([])
        const v2 = versionOf(2, false)
        yield* w.store.put(v2)
        expect(Option.map(yield* w.reader.read(base.kind, base.id), (r) => r.source)).toEqual(Option.some("store"))
        yield* w.reader.awaitRefills
        const second = yield* w.reader.read(base.kind, base.id)
        expect(Option.map(second, (r) => [r.source, r.document])).toEqual(Option.some(["cache", v2]))
        expect(yield* w.reader.read(base.kind, "ANN-absent")).toEqual(Option.none())
      }).pipe(Effect.provide(quiet)),
    ),
  )

  it.effect("cache off reads S3 alone; dry-run reads but never refills", () =>
    Effect.scoped(
      Effect.gen(function* () {
        for (const settings of [{ cacheEnabled: false }, { dryRun: true }]) {
          const w = yield* world([], { settings })
          const v1 = versionOf(1, false)
          yield* w.store.put(v1)
          const result = yield* w.reader.read(base.kind, base.id)
          expect(Option.map(result, (r) => [r.source, r.document])).toEqual(Option.some(["store", v1]))
          yield* w.reader.awaitRefills
          expect(yield* w.cache.get(base.kind, base.id)).toEqual(Option.none())
          if (settings.cacheEnabled === false) expect((yield* w.plan.calls).length).toBe(0)
        }
      }).pipe(Effect.provide(quiet)),
    ),
  )
})

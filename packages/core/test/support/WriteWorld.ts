/**
 * The write path's memory world, shared by `WriteThrough.paths.test.ts` and
 * `WriteThrough.signals.test.ts`: the memory cache and store behind fault injection,
 * a recorder of the S3 conditions each put and delete sends, a WriteThrough service
 * over them, and the helpers both files read the world with (one document in
 * versions, counters by outcome, the intent, another writer's intent).
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Arbitraries from "../../src/Arbitraries.js"
import * as DocketConfig from "../../src/DocketConfig.js"
import type * as Document from "../../src/Document.js"
import * as DocumentCache from "../../src/DocumentCache.js"
import * as DocumentKind from "../../src/DocumentKind.js"
import * as DocumentStore from "../../src/DocumentStore.js"
import * as FaultInjection from "../../src/FaultInjection.js"
import * as WriteThrough from "../../src/WriteThrough.js"

export const base = fc.sample(Arbitraries.change({ maxTextLength: 20, ids: ["CHG-paths-1"] }), {
  numRuns: 1,
  seed: 13,
})[0]!
export const versionOf = (version: number, alt = false): Document.AnyDocument => ({
  ...base,
  version,
  title: alt ? `v${version} (other content)` : `v${version}`,
})
export const key = `${base.kind}/${base.id}`

export interface Setup {
  readonly verdicts?: ReadonlyArray<FaultInjection.Verdict>
  readonly only?: (call: FaultInjection.Call) => boolean
  readonly before?: FaultInjection.Options["before"]
  readonly delay?: Duration.DurationInput
  readonly retry?: boolean
  readonly settings?: Partial<DocketConfig.Settings>
  readonly timing?: WriteThrough.Options
}

/** Memory ports behind fault injection and a recorder of the S3 conditions each put and delete sends. */
export const world = (setup: Setup = {}) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.makeMemory()
    const store = yield* DocumentStore.makeMemory()
    const plan = yield* FaultInjection.plan(setup.verdicts ?? [], setup.only ? { only: setup.only } : {})
    const faults: FaultInjection.Options = {
      plan,
      ...(setup.retry === true ? { retry: FaultInjection.immediateRetry(2) } : {}),
      ...(setup.before ? { before: setup.before } : {}),
      ...(setup.delay ? { delay: setup.delay } : {}),
    }
    const faulty = FaultInjection.store(store, faults)
    const puts: Array<DocumentStore.PutConditions | undefined> = []
    const deletes: Array<DocumentStore.DeleteConditions | undefined> = []
    const recording: DocumentStore.Service = {
      ...faulty,
      put: (document, conditions) =>
        Effect.suspend(() => {
          puts.push(conditions)
          return faulty.put(document, conditions)
        }),
      delete: (kind, id, conditions) =>
        Effect.suspend(() => {
          deletes.push(conditions)
          return faulty.delete(kind, id, conditions)
        }),
    }
    const writeThrough = yield* (setup.timing ? WriteThrough.makeWith(setup.timing) : WriteThrough.make).pipe(
      Effect.provideService(DocumentCache.DocumentCache, FaultInjection.cache(cache, faults)),
      Effect.provideService(DocumentStore.DocumentStore, recording),
      Effect.provideService(DocketConfig.DocketConfig, DocketConfig.make({ bucket: "test", ...setup.settings })),
    )
    const s3Key = store.keyOf(base.kind, base.id)
    return { cache, store, plan, puts, deletes, writeThrough, s3Key }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

export type World = Effect.Effect.Success<ReturnType<typeof world>>

export const count = (metric: Metric.Metric.Counter<number>, outcome?: string) =>
  Effect.map(
    Metric.value(outcome === undefined ? metric : Metric.tagged(metric, "outcome", outcome)),
    (state) => state.count,
  )

export const inspect = (w: World) => Effect.orDie(w.cache.inspect(base.kind, base.id))
export const etagOf = (document: Document.AnyDocument) => DocumentStore.expectedEtag(document)
export const callsOf = (w: World, since = 0) =>
  Effect.map(w.plan.calls, (all) => all.slice(since).map((c) => `${c.port}.${c.operation}:${c.verdict}`))

/** Another writer's intent on the key, with a lease ending at `leaseExpiresAt`. */
export const foreignIntent = (w: World, leaseExpiresAt: number, version = 9) =>
  Effect.orDie(
    w.cache.intend({
      kind: base.kind,
      id: base.id,
      writer: "other",
      s3Key: w.s3Key,
      leaseExpiresAt,
      change: { _tag: "Put", document: versionOf(version), etag: etagOf(versionOf(version)) },
    }),
  )

/** Lets a forked writer run as far as it can without the clock moving. */
export const settle = Effect.forEach(Array.from({ length: 50 }), () => Effect.yieldNow(), { discard: true })

/** A world whose first intent call takes `delay` and times out; its retry records the lease counted from the start. */
export const slow = (
  delay: Duration.DurationInput,
  verdicts: ReadonlyArray<FaultInjection.Verdict>,
  before?: Setup["before"],
) =>
  world({
    verdicts,
    only: (c) => c.operation === "intend",
    delay,
    retry: true,
    ...(before ? { before } : {}),
    settings: { writeWaitMillis: 20_000 },
  })

/** Before the renewal (the third intent call), a resolver dropped our intent and `then` happened. */
export const meanwhile = (then: (cache: DocumentCache.Service) => Effect.Effect<unknown, unknown>) => {
  let cache: DocumentCache.Service | undefined
  let intends = 0
  const before: Setup["before"] = (call) => {
    if (call.operation !== "intend" || cache === undefined || ++intends !== 3) return Effect.void
    return Effect.gen(function* () {
      const ours = Option.getOrThrow((yield* Effect.orDie(cache!.inspect(base.kind, base.id))).intent)
      yield* Effect.orDie(cache!.clearIntent(base.kind, base.id, ours.writer))
      yield* Effect.orDie(then(cache!))
    })
  }
  return { before, bind: (w: World) => (cache = w.cache) }
}

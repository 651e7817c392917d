/**
 * Fault injection for tests: wraps any {@link DocumentCache.Service} or
 * {@link DocumentStore.Service} so that its calls fail, time out, are throttled
 * or are applied with their answer lost, following a plan of per-call verdicts
 * (typically drawn by fast-check, see {@link verdicts}).
 *
 * Verdicts are consumed in call order across both ports when they share one
 * plan, so concurrent fibers interleave their faults as the plan says.
 *
 * @example
 * ```ts
 * import * as FaultInjection from "@docket/core/FaultInjection"
 * const plan = yield* FaultInjection.plan(["Ok", "Lost", "Throttle"])
 * const faultyStore = FaultInjection.store(memoryStore, { plan })
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as DocketError from "./DocketError.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentStore from "./DocumentStore.js"
import * as Retry from "./Retry.js"

/**
 * What happens to one call:
 * - `Ok`: it runs.
 * - `Throttle`, `Unavailable`, `Denied`: it fails without running (reason
 *   `Throttled`, `Unavailable`, `AccessDenied`).
 * - `Timeout`: it fails with reason `Timeout` without running (after `delay`).
 * - `Lost`: it runs, then fails with reason `Timeout`: the change happened but
 *   the caller cannot know (the answer was lost on the way back).
 */
export type Verdict = "Ok" | "Throttle" | "Unavailable" | "Denied" | "Timeout" | "Lost"

/** Every verdict. */
export const allVerdicts: ReadonlyArray<Verdict> = ["Ok", "Throttle", "Unavailable", "Denied", "Timeout", "Lost"]

/** A call that went through a fault layer. */
export interface Call {
  readonly port: "cache" | "store"
  readonly operation: string
  /** `kind/id` for the cache, the S3 key for the store. */
  readonly key: string
}

/** A call and the verdict it got. */
export interface Recorded extends Call {
  readonly index: number
  readonly verdict: Verdict
}

/** Decides each call's verdict and records them. */
export interface Plan {
  readonly next: (call: Call) => Effect.Effect<Verdict>
  /** Every call so far, in order. */
  readonly calls: Effect.Effect<ReadonlyArray<Recorded>>
}

/**
 * A plan that gives the i-th call `verdicts[i]`, then `then` (default `Ok`) once
 * the list is used up. `only` restricts faults to matching calls (others are `Ok`
 * and consume nothing).
 */
export const plan = (
  verdicts: ReadonlyArray<Verdict>,
  options: { readonly then?: Verdict; readonly only?: (call: Call) => boolean } = {},
): Effect.Effect<Plan> =>
  Effect.map(
    Ref.make<{ readonly position: number; readonly calls: ReadonlyArray<Recorded> }>({ position: 0, calls: [] }),
    (state): Plan => ({
      next: (call) =>
        Ref.modify(state, ({ position, calls }) => {
          const applies = options.only === undefined || options.only(call)
          const verdict: Verdict = !applies ? "Ok" : (verdicts[position] ?? options.then ?? "Ok")
          const recorded: Recorded = { ...call, index: calls.length, verdict }
          return [verdict, { position: applies ? position + 1 : position, calls: [...calls, recorded] }] as const
        }),
      calls: Effect.map(Ref.get(state), (s) => s.calls),
    }),
  )

/** A plan where every call is `Ok` (calls are still recorded). */
export const healthy: Effect.Effect<Plan> = plan([])

/**
 * A fast-check arbitrary of verdict lists: mostly `Ok` (weight `okWeight`,
 * default 3) with every fault kind in between.
 */
export const verdicts = (
  options: {
    readonly maxLength?: number
    readonly okWeight?: number
    readonly faults?: ReadonlyArray<Exclude<Verdict, "Ok">>
  } = {},
): fc.Arbitrary<ReadonlyArray<Verdict>> =>
  fc.array(
    fc.oneof(
      { arbitrary: fc.constant<Verdict>("Ok"), weight: options.okWeight ?? 3 },
      {
        arbitrary: fc.constantFrom<Verdict>(...(options.faults ?? allVerdicts.filter((v) => v !== "Ok"))),
        weight: 1,
      },
    ),
    { maxLength: options.maxLength ?? 12 },
  )

/** Options of the wrappers. */
export interface Options {
  readonly plan: Plan
  /** Runs before each call (after its verdict is drawn): e.g. a concurrent writer landing. */
  readonly before?: (call: Call, verdict: Verdict) => Effect.Effect<void>
  /** How long a `Timeout` or `Lost` call takes before it fails (default: no delay). */
  readonly delay?: Duration.DurationInput
  /**
   * Retries each call the way a real backend does (each attempt draws its own
   * verdict). Use a zero-delay policy in property tests, or `TestClock`.
   */
  readonly retry?: Retry.Policy
}

type Reason = Extract<DocketError.Reason, "Throttled" | "Unavailable" | "AccessDenied" | "Timeout">

const reasonOf = (verdict: Exclude<Verdict, "Ok" | "Lost">): Reason =>
  verdict === "Throttle"
    ? "Throttled"
    : verdict === "Unavailable"
      ? "Unavailable"
      : verdict === "Denied"
        ? "AccessDenied"
        : "Timeout"

const inject = <A, E, R, E2>(
  options: Options,
  call: Call,
  self: Effect.Effect<A, E, R>,
  failure: (reason: Reason) => E2,
): Effect.Effect<A, E | E2, R> => {
  const attempt: Effect.Effect<A, E | E2, R> = Effect.flatMap(
    options.plan.next(call),
    (verdict): Effect.Effect<A, E | E2, R> => {
      const before = options.before?.(call, verdict) ?? Effect.void
      const pause = options.delay === undefined ? Effect.void : Effect.sleep(options.delay)
      switch (verdict) {
        case "Ok":
          return Effect.zipRight(before, self)
        case "Lost":
          return before.pipe(
            Effect.zipRight(Effect.exit(self)),
            Effect.zipRight(pause),
            Effect.zipRight(Effect.fail(failure("Timeout"))),
          )
        case "Timeout":
          return before.pipe(Effect.zipRight(pause), Effect.zipRight(Effect.fail(failure("Timeout"))))
        default:
          return Effect.zipRight(before, Effect.fail(failure(reasonOf(verdict))))
      }
    },
  )
  if (options.retry === undefined) return attempt
  return Effect.retry(attempt, {
    schedule: Retry.schedule(options.retry) as Schedule.Schedule<unknown, E | E2>,
    while: (error: E | E2) => (error as { retryable?: unknown }).retryable === true,
  })
}

const injectStream = <A, E, R, E2>(
  options: Options,
  call: Call,
  self: Stream.Stream<A, E, R>,
  failure: (reason: Reason) => E2,
): Stream.Stream<A, E | E2, R> => Stream.unwrap(inject(options, call, Effect.succeed(self), failure))

/** Wraps a cache so its calls follow the plan. */
export const cache = (service: DocumentCache.Service, options: Options): DocumentCache.Service => {
  const fail = (operation: string, key: string) => (reason: Reason) =>
    new DocumentCache.CacheError({ reason, operation, key, cause: "injected fault" })
  const run = <A, E, R>(operation: string, key: string, self: Effect.Effect<A, E, R>) =>
    inject(options, { port: "cache", operation, key }, self, fail(operation, key))
  const wrapped: DocumentCache.Service = {
    get: (kind, id, getOptions) => run("get", `${kind}/${id}`, service.get(kind, id, getOptions)),
    put: (document, putOptions) => run("put", `${document.kind}/${document.id}`, service.put(document, putOptions)),
    delete: (kind, id, deleteOptions) => run("delete", `${kind}/${id}`, service.delete(kind, id, deleteOptions)),
    tombstone: (kind, id, tombstoneOptions) =>
      run("tombstone", `${kind}/${id}`, service.tombstone(kind, id, tombstoneOptions)),
    restore: (kind, id, previous, condition) =>
      run("restore", `${kind}/${id}`, service.restore(kind, id, previous, condition)),
    inspect: (kind, id) => run("inspect", `${kind}/${id}`, service.inspect(kind, id)),
    snapshot: (kind, id) => run("snapshot", `${kind}/${id}`, service.snapshot(kind, id)),
    intend: (request) => run("intend", `${request.kind}/${request.id}`, service.intend(request)),
    commit: (request) => run("commit", `${request.kind}/${request.id}`, service.commit(request)),
    clearIntent: (kind, id, writer) => run("clearIntent", `${kind}/${id}`, service.clearIntent(kind, id, writer)),
    intents: (intentOptions) =>
      injectStream(
        options,
        { port: "cache", operation: "intents", key: "*" },
        service.intents(intentOptions),
        fail("intents", "*"),
      ),
    query: (query) =>
      injectStream(
        options,
        { port: "cache", operation: "query", key: query.target._tag },
        service.query(query),
        fail("query", query.target._tag),
      ),
    page: (query, pageOptions) => run("page", query.target._tag, service.page(query, pageOptions)),
    fingerprints: (refs) =>
      run("fingerprints", refs[0] === undefined ? "*" : `${refs[0].kind}/${refs[0].id}`, service.fingerprints(refs)),
    scan: (scanOptions) =>
      injectStream(
        options,
        { port: "cache", operation: "scan", key: "*" },
        service.scan(scanOptions),
        fail("scan", "*"),
      ),
  }
  return wrapped
}

/** Wraps a store so its calls follow the plan. */
export const store = (service: DocumentStore.Service, options: Options): DocumentStore.Service => {
  const fail = (operation: string, key: string) => (reason: Reason) =>
    new DocumentStore.StoreError({ reason, operation, key, cause: "injected fault" })
  const run = <A, E, R>(operation: string, key: string, self: Effect.Effect<A, E, R>) =>
    inject(options, { port: "store", operation, key }, self, fail(operation, key))
  return {
    keyOf: service.keyOf,
    // Injected delays and retries would outlast a put's deadline: the whole call is cut off at it, as the S3
    // backend's own timers cut off its request and its retries (the deadline also reaches the wrapped store).
    put: (document, conditions) => {
      const key = service.keyOf(document.kind, document.id)
      return DocumentStore.withinDeadline(
        run("PutObject", key, service.put(document, conditions)),
        "PutObject",
        key,
        conditions?.deadline,
      )
    },
    get: (kind, id) => run("GetObject", service.keyOf(kind, id), service.get(kind, id)),
    getKey: (key) => run("GetObject", key, service.getKey(key)),
    head: (key) => run("HeadObject", key, service.head(key)),
    delete: (kind, id, conditions) => {
      const key = service.keyOf(kind, id)
      return DocumentStore.withinDeadline(
        run("DeleteObject", key, service.delete(kind, id, conditions)),
        "DeleteObject",
        key,
        conditions?.deadline,
      )
    },
    list: (listOptions) => {
      const key = listOptions?.prefix ?? ""
      return injectStream(
        options,
        { port: "store", operation: "ListObjectsV2", key },
        service.list(listOptions),
        fail("ListObjectsV2", key),
      )
    },
  }
}

/** Wraps the {@link DocumentCache.DocumentCache} provided below it. */
export const layerCache = (
  options: Options,
): Layer.Layer<DocumentCache.DocumentCache, never, DocumentCache.DocumentCache> =>
  Layer.effect(
    DocumentCache.DocumentCache,
    Effect.map(DocumentCache.DocumentCache, (service) => cache(service, options)),
  )

/** Wraps the {@link DocumentStore.DocumentStore} provided below it. */
export const layerStore = (
  options: Options,
): Layer.Layer<DocumentStore.DocumentStore, never, DocumentStore.DocumentStore> =>
  Layer.effect(
    DocumentStore.DocumentStore,
    Effect.map(DocumentStore.DocumentStore, (service) => store(service, options)),
  )

/** A retry policy without delays, for property tests (no clock needed). */
export const immediateRetry = (maxAttempts = 3): Retry.Policy => ({
  maxAttempts,
  base: Duration.zero,
  cap: Duration.zero,
})

/**
 * The `RateLimit` service: one token bucket per process, shared by every fiber,
 * that every DynamoDB call passes through (DESIGN section 5, invariant 5).
 *
 * Built on effect's `RateLimiter` (token-bucket algorithm): the bucket holds
 * `burst` tokens and refills one token every `ceil(1000 / rps)` ms, so in any
 * window of `t` seconds at most `rps * t + burst` calls start. Waiting for a
 * token is interruptible.
 *
 * @example
 * ```ts
 * import * as RateLimit from "@docket/core/RateLimit"
 * const program = RateLimit.limited(callDynamoDB)
 * Effect.provide(program, RateLimit.layer({ rps: 100, burst: 20 }))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RateLimiter from "effect/RateLimiter"
import type * as Scope from "effect/Scope"
import { DocketConfig } from "./DocketConfig.js"

/** Requests per second and bucket size. */
export interface Options {
  /** Sustained requests per second (may be fractional, must be > 0). */
  readonly rps: number
  /** Calls that may start at once after a quiet period (default: `rps`, at least 1). */
  readonly burst?: number
}

/** The RateLimit service. */
export interface Service {
  /** Runs `effect` once a token is available; waiting is interruptible. */
  readonly limit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly rps: number
  readonly burst: number
}

/** The RateLimit service tag. */
export class RateLimit extends Context.Tag("@docket/core/RateLimit")<RateLimit, Service>() {}

/** Builds a token bucket; its refill fiber lives as long as the scope. */
export const make = (options: Options): Effect.Effect<Service, never, Scope.Scope> => {
  if (!(options.rps > 0) || !Number.isFinite(options.rps)) return Effect.dieMessage(`RateLimit rps must be > 0`)
  const burst = Math.max(1, Math.floor(options.burst ?? options.rps))
  return Effect.map(
    // `limit` tokens over `interval` refill one token every interval / limit = 1 / rps seconds.
    RateLimiter.make({ algorithm: "token-bucket", limit: burst, interval: `${(burst * 1000) / options.rps} millis` }),
    (limiter): Service => ({ limit: limiter, rps: options.rps, burst }),
  )
}

/** Provides a token bucket of `rps` and `burst`. */
export const layer = (options: Options): Layer.Layer<RateLimit> => Layer.scoped(RateLimit, make(options))

/** Provides a token bucket from `DOCKET_RPS` / `DOCKET_BURST` (through {@link DocketConfig}). */
export const layerConfig: Layer.Layer<RateLimit, never, DocketConfig> = Layer.scoped(
  RateLimit,
  Effect.flatMap(DocketConfig, (settings) => make({ rps: settings.rps, burst: settings.burst })),
)

/** No limit at all: for tests and one-off tools. */
export const layerUnlimited: Layer.Layer<RateLimit> = Layer.succeed(RateLimit, {
  limit: (effect) => effect,
  rps: Number.POSITIVE_INFINITY,
  burst: Number.POSITIVE_INFINITY,
})

/** Runs `effect` under the {@link RateLimit} in context. */
export const limited = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | RateLimit> =>
  Effect.flatMap(RateLimit, (rateLimit) => rateLimit.limit(effect))

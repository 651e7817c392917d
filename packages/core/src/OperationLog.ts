/**
 * One structured log line per operation (DESIGN section 9): `operation`, the key
 * or range it concerns, `outcome` and `durationMs`, plus whatever the caller adds.
 * Durations come from effect's `Clock`, so they follow `TestClock` in tests.
 *
 * Use with `Logger.json` (see {@link jsonLogger}) to get JSON lines.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

/** Fields of an operation's log line. Never put secrets here. */
export type Fields = Readonly<Record<string, unknown>>

/** The outcome an error is logged with: its `_tag`, and `reason` when it has one. */
export const errorOutcome = (error: unknown): string => {
  const e = error as { _tag?: unknown; reason?: unknown }
  const tag = typeof e?._tag === "string" ? e._tag : "Error"
  return typeof e?.reason === "string" ? `${tag}:${e.reason}` : tag
}

const minimumLevel = FiberRef.get(FiberRef.currentMinimumLogLevel)

/**
 * Runs `self` and logs one line for it: `info` on success (or `debug` when
 * `level` says so), `warning` on a typed failure, `error` on a defect.
 * `describe` adds fields from the success value (e.g. its outcome); it is not
 * called for a debug line below the minimum log level. `fields` may be a
 * function, read when the line is written: for counts that grow while the
 * operation runs (attempts, consumed capacity).
 */
export const logged =
  <A>(
    operation: string,
    fieldsOrRead: Fields | (() => Fields) = {},
    options: {
      readonly describe?: (a: A) => Fields
      /** The level of the success line; a function decides from the result (e.g. debug for a cache hit). */
      readonly level?: "info" | "debug" | ((a: A) => "info" | "debug")
    } = {},
  ) =>
  <E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const start = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(self)
      const durationMs = (yield* Clock.currentTimeMillis) - start
      const fields = (): Fields => (typeof fieldsOrRead === "function" ? fieldsOrRead() : fieldsOrRead)
      if (Exit.isSuccess(exit)) {
        // Hot paths log success at debug: when that level is off, build no line at all (annotating
        // a line costs more than the line is worth when nobody sees it).
        const level = typeof options.level === "function" ? options.level(exit.value) : options.level
        if (level === "debug" && !LogLevel.greaterThanEqual(LogLevel.Debug, yield* minimumLevel)) {
          return yield* exit
        }
        const extra = options.describe?.(exit.value) ?? {}
        const line = { operation, outcome: "ok", ...fields(), ...extra, durationMs }
        yield* (level === "debug" ? Effect.logDebug(operation) : Effect.logInfo(operation)).pipe(
          Effect.annotateLogs(line),
        )
      } else if (Cause.isInterruptedOnly(exit.cause)) {
        yield* Effect.logInfo(operation).pipe(
          Effect.annotateLogs({ operation, outcome: "interrupted", ...fields(), durationMs }),
        )
      } else {
        const failure = Cause.failureOption(exit.cause)
        if (failure._tag === "Some") {
          const error = failure.value as { message?: unknown }
          yield* Effect.logWarning(operation).pipe(
            Effect.annotateLogs({
              operation,
              outcome: errorOutcome(failure.value),
              ...fields(),
              error: typeof error?.message === "string" ? error.message : String(failure.value),
              durationMs,
            }),
          )
        } else {
          yield* Effect.logError(operation, exit.cause).pipe(
            Effect.annotateLogs({ operation, outcome: "defect", ...fields(), durationMs }),
          )
        }
      }
      return yield* exit
    })

/**
 * Replaces the default logger with JSON lines (one object per line) on stdout.
 * (`Logger.jsonLogger` alone only formats; `Logger.json` also prints.)
 */
export const jsonLogger: Layer.Layer<never> = Logger.json

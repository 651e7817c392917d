/**
 * One structured log line per operation (DESIGN section 9): `operation`, the key
 * or range it concerns, `outcome` and `durationMs`, plus whatever the caller adds.
 * Durations come from effect's `Clock`, so they follow `TestClock` in tests.
 *
 * Every logged operation is also a span named after the operation, so the spans
 * nest the way the operations do (a write-through's cache and S3 calls under it,
 * an event batch's records under it). The span carries the line's fields as
 * `docket.*` attributes (`docket.key`, `docket.version`, `docket.outcome`,
 * `docket.attempts`, `docket.requests`, ...) when a real tracer is installed
 * (see `Tracing`, or any `@effect/opentelemetry` tracer). With effect's built-in
 * tracer nobody can see a span, so none is made: measured, a span costs more
 * than the log line's own bookkeeping, and the hot path stays as it was.
 *
 * Use with `Logger.json` (see {@link jsonLogger}) to get JSON lines.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Inspectable from "effect/Inspectable"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Tracer from "effect/Tracer"

/** Fields of an operation's log line. Never put secrets here. */
export type Fields = Readonly<Record<string, unknown>>

/** The outcome an error is logged with: its `_tag`, and `reason` when it has one. */
export const errorOutcome = (error: unknown): string => {
  const e = error as { _tag?: unknown; reason?: unknown }
  const tag = typeof e?._tag === "string" ? e._tag : "Error"
  return typeof e?.reason === "string" ? `${tag}:${e.reason}` : tag
}

const callerErrors = new Set(["CursorError", "InvalidQueryError"])

const errorTag = (error: unknown): string => {
  const tag = (error as { _tag?: unknown })?._tag
  return typeof tag === "string" ? tag : ""
}

// effect's built-in tracer: its spans go nowhere, so their attributes are not worth building. Read from
// the default services, not by running a fiber at import (a cold start would pay for the runtime's first run).
const nativeTracer: Tracer.Tracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** Whether spans are recorded somewhere (a tracer other than effect's built-in one is installed). */
export const tracing: Effect.Effect<boolean> = Effect.withFiberRuntime((fiber) =>
  Effect.succeed(fiber.currentTracer !== nativeTracer),
)

const attributeValue = (value: unknown): unknown =>
  value === null || value === undefined
    ? undefined
    : typeof value === "string" || typeof value === "number" || typeof value === "boolean"
      ? value
      : Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number")
        ? value
        : JSON.stringify(value)

/** Sets the fields of a log line as `docket.*` attributes of the current span. */
export const annotateSpan = (fields: Fields): Effect.Effect<void> =>
  Effect.flatMap(Effect.currentSpan, (span) =>
    Effect.sync(() => {
      for (const [name, value] of Object.entries(fields)) {
        const v = attributeValue(value)
        if (v !== undefined) span.attribute(name.startsWith("docket.") ? name : `docket.${name}`, v)
      }
    }),
  ).pipe(Effect.ignore)

/**
 * Runs `self` and logs one line for it: `info` on success (or `debug` when
 * `level` says so), `warning` on a typed failure, `error` on a defect.
 * `describe` adds fields from the success value (e.g. its outcome); it is not
 * called for a debug line below the minimum log level. `fields` may be a
 * function, read when the line is written: for counts that grow while the
 * operation runs (attempts, consumed capacity).
 *
 * Cost: one step of the fiber to look at its tracer, log level and clock, one
 * to catch the outcome, and the line itself. An operation whose success line is
 * `debug` below the minimum level, with no tracer installed, costs only the
 * first (nobody can see its line or its span); its failures still log (the
 * lines a failure writes are never debug).
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
  <E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const fields = (): Fields => (typeof fieldsOrRead === "function" ? fieldsOrRead() : fieldsOrRead)
    const levelOf = (a: A) => (typeof options.level === "function" ? options.level(a) : options.level)
    const staticDebug = options.level === "debug"
    const staticInfo = options.level === undefined || options.level === "info"
    return Effect.withFiberRuntime<A, E, R>((fiber) => {
      const traced = fiber.currentTracer !== nativeTracer
      const minimum = fiber.getFiberRef(FiberRef.currentMinimumLogLevel)
      const debugOn = LogLevel.greaterThanEqual(LogLevel.Debug, minimum)
      const infoOn = LogLevel.greaterThanEqual(LogLevel.Info, minimum)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const start = clock.unsafeCurrentTimeMillis()
      // A success line nobody sees (debug, or info under DOCKET_LOG_LEVEL=warn/error), and no span:
      // nothing to build or time but the failure lines.
      if (!traced && ((staticDebug && !debugOn) || (staticInfo && !infoOn)))
        return logFailures(operation, self, fields, clock, start)
      const finish = (exit: Exit.Exit<A, E>): Effect.Effect<void> | undefined => {
        const durationMs = clock.unsafeCurrentTimeMillis() - start
        const line = lineOf(operation, exit, fields, durationMs, debugOn, levelOf, options.describe)
        if (!traced) return line
        const extra = Exit.isSuccess(exit) ? (options.describe?.(exit.value) ?? {}) : {}
        const annotate = annotateSpan({ outcome: outcomeOf(exit), ...fields(), ...extra })
        return line === undefined ? annotate : Effect.zipRight(annotate, line)
      }
      const body = Effect.matchCauseEffect(self, {
        onSuccess: (a) => {
          const line = finish(Exit.succeed(a))
          return line === undefined ? Effect.succeed(a) : Effect.as(line, a)
        },
        onFailure: (cause) => {
          const line = finish(Exit.failCause(cause))
          return line === undefined ? Effect.failCause(cause) : Effect.zipRight(line, Effect.failCause(cause))
        },
      })
      // With effect's built-in tracer nobody sees a span: skip it (it costs more than the line's bookkeeping).
      return traced ? Effect.withSpan(body, operation, spanOptions) : body
    })
  }

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "ok"
    : Cause.isInterruptedOnly(exit.cause)
      ? "interrupted"
      : Cause.failureOption(exit.cause).pipe((f) => (f._tag === "Some" ? errorOutcome(f.value) : "defect"))

/**
 * Writes one line, its fields added to the fiber's log annotations, in one step of the fiber:
 * what `Effect.logInfo(operation).pipe(Effect.annotateLogs(fields))` does (the same loggers, the
 * same message, annotations, spans, date and redaction context), without scoping the annotations
 * with `FiberRef` locally (an acquire, a release and a map insertion per field: measured ~40 us of a
 * ~90 us line, the rest is the logger's own formatting).
 */
const writeLine = (
  level: LogLevel.LogLevel,
  operation: string,
  fields: Fields,
  cause: Cause.Cause<unknown> = Cause.empty,
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    if (LogLevel.greaterThan(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), level)) return Effect.void
    const loggers = fiber.getFiberRef(FiberRef.currentLoggers)
    if (HashSet.size(loggers) === 0) return Effect.void
    const annotations = HashMap.mutate(fiber.getFiberRef(FiberRef.currentLogAnnotations), (map) => {
      for (const name of Object.keys(fields)) HashMap.set(map, name, fields[name])
    })
    const context = fiber.getFiberRefs()
    const options: Logger.Logger.Options<unknown> = {
      fiberId: fiber.id(),
      logLevel: level,
      // `Effect.log*` passes its arguments as the message: one string, here.
      message: [operation],
      cause,
      context,
      spans: fiber.getFiberRef(FiberRef.currentLogSpan),
      annotations,
      date: new Date(Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()),
    }
    Inspectable.withRedactableContext(context, () => {
      for (const logger of loggers) logger.log(options)
    })
    return Effect.void
  })

/**
 * A debug line (`message`, with `fields` among its annotations) whose fields are built only
 * when debug lines are on: for a hot path's per-item lines (a skipped S3 event record).
 */
export const logDebugLazily = (message: string, fields: () => Fields): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) =>
    LogLevel.greaterThan(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), LogLevel.Debug)
      ? Effect.void
      : writeLine(LogLevel.Debug, message, fields()),
  )

/** The line of an outcome (none for a debug success below the minimum level). */
const lineOf = <A, E>(
  operation: string,
  exit: Exit.Exit<A, E>,
  fields: () => Fields,
  durationMs: number,
  debugOn: boolean,
  levelOf: (a: A) => "info" | "debug" | undefined,
  describe: ((a: A) => Fields) | undefined,
): Effect.Effect<void> | undefined => {
  if (Exit.isSuccess(exit)) {
    // Hot paths log success at debug: when that level is off, build no line at all (annotating
    // a line costs more than the line is worth when nobody sees it).
    const level = levelOf(exit.value)
    if (level === "debug" && !debugOn) return undefined
    const line = { operation, outcome: "ok", ...fields(), ...(describe?.(exit.value) ?? {}), durationMs }
    return writeLine(level === "debug" ? LogLevel.Debug : LogLevel.Info, operation, line)
  }
  if (Cause.isInterruptedOnly(exit.cause)) {
    return writeLine(LogLevel.Info, operation, { operation, outcome: "interrupted", ...fields(), durationMs })
  }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") {
    const error = failure.value as { message?: unknown }
    // The caller's bad input (a malformed cursor or query) is its error to report, not an operational warning.
    return writeLine(callerErrors.has(errorTag(failure.value)) ? LogLevel.Info : LogLevel.Warning, operation, {
      operation,
      outcome: errorOutcome(failure.value),
      ...fields(),
      error: typeof error?.message === "string" ? error.message : String(failure.value),
      durationMs,
    })
  }
  return writeLine(LogLevel.Error, operation, { operation, outcome: "defect", ...fields(), durationMs }, exit.cause)
}

/** `self` with only its failure lines (its success line is a debug line nobody sees). */
const logFailures = <A, E, R>(
  operation: string,
  self: Effect.Effect<A, E, R>,
  fields: () => Fields,
  clock: Clock.Clock,
  start: number,
): Effect.Effect<A, E, R> =>
  Effect.catchAllCause(self, (cause) => {
    const durationMs = clock.unsafeCurrentTimeMillis() - start
    const line = lineOf(operation, Exit.failCause(cause), fields, durationMs, false, () => "debug", undefined)
    return line === undefined ? Effect.failCause(cause) : Effect.zipRight(line, Effect.failCause(cause))
  })

// No stack trace per span: capturing one costs more than the operation's bookkeeping.
const spanOptions = { captureStackTrace: false } as const

/**
 * Replaces the default logger with JSON lines (one object per line) on stdout.
 * (`Logger.jsonLogger` alone only formats; `Logger.json` also prints.)
 */
export const jsonLogger: Layer.Layer<never> = Logger.json

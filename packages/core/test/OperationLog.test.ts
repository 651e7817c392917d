import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Tracer from "effect/Tracer"
import * as OperationLog from "../src/OperationLog.js"

/** Runs `self` at `level`, returning the lines written and how often the line's fields were read. */
const at = <A, E>(level: LogLevel.LogLevel, self: (fields: () => OperationLog.Fields) => Effect.Effect<A, E>) =>
  Effect.suspend(() => {
    const lines: Array<{ level: string; fields: Record<string, unknown> }> = []
    let reads = 0
    const fields = () => {
      reads++
      return { key: "change/CHG-log" }
    }
    const capture = Logger.make(({ annotations, logLevel }) => {
      lines.push({ level: logLevel.label, fields: Object.fromEntries(HashMap.toEntries(annotations)) })
    })
    return Effect.exit(self(fields)).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
      Logger.withMinimumLogLevel(level),
      Effect.map((exit) => ({ exit, lines, reads: () => reads })),
    )
  })

describe("OperationLog.logged", () => {
  it.effect("an info success line is written at info, and not even built when the level is above it", () =>
    Effect.gen(function* () {
      const ok = (fields: () => OperationLog.Fields) => Effect.succeed(1).pipe(OperationLog.logged("test.op", fields))
      const info = yield* at(LogLevel.Info, ok)
      expect(info.lines.map((l) => [l.level, l.fields.outcome, l.fields.key])).toStrictEqual([
        ["INFO", "ok", "change/CHG-log"],
      ])
      const warn = yield* at(LogLevel.Warning, ok)
      expect(warn.lines).toStrictEqual([])
      expect(warn.reads()).toBe(0)
    }),
  )

  it.effect("a failure is still logged, with its fields, when the success line is off", () =>
    Effect.gen(function* () {
      const failing = (fields: () => OperationLog.Fields) =>
        Effect.fail({ _tag: "CacheError", reason: "Throttled", message: "slow down" }).pipe(
          OperationLog.logged("test.op", fields),
        )
      const warn = yield* at(LogLevel.Warning, failing)
      expect(warn.lines.map((l) => [l.level, l.fields.outcome, l.fields.key, l.fields.error])).toStrictEqual([
        ["WARN", "CacheError:Throttled", "change/CHG-log", "slow down"],
      ])
      const error = yield* at(LogLevel.Error, failing)
      expect(error.lines).toStrictEqual([])
    }),
  )
})

describe("OperationLog.logged writes its line as Effect.log* would", () => {
  it.effect(
    "the caller's annotations and log spans are on the line, its fields do not leak into later lines, a defect's cause is passed",
    () =>
      Effect.gen(function* () {
        const seen: Array<{ message: unknown; fields: Record<string, unknown>; spans: Array<string>; cause: string }> =
          []
        const capture = Logger.make(({ annotations, spans, message, cause }) => {
          seen.push({
            message,
            fields: Object.fromEntries(HashMap.toEntries(annotations)),
            spans: List.toArray(spans).map((s) => s.label),
            cause: Cause.isEmpty(cause) ? "" : Cause.pretty(cause),
          })
        })
        yield* Effect.gen(function* () {
          yield* Effect.succeed(1).pipe(OperationLog.logged("test.op", { key: "change/CHG-a" }))
          yield* Effect.exit(Effect.die("boom").pipe(OperationLog.logged("test.defect", { key: "change/CHG-b" })))
          yield* Effect.logInfo("after")
        }).pipe(
          Effect.withLogSpan("outer"),
          Effect.annotateLogs({ requestId: "r-1" }),
          Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
        )
        const [ok, defect, after] = seen
        expect(ok?.message).toStrictEqual(["test.op"])
        expect(ok?.fields).toMatchObject({ requestId: "r-1", operation: "test.op", outcome: "ok", key: "change/CHG-a" })
        expect(ok?.spans).toStrictEqual(["outer"])
        expect(ok?.cause).toBe("")
        expect(defect?.fields).toMatchObject({ requestId: "r-1", outcome: "defect", key: "change/CHG-b" })
        expect(defect?.cause).toContain("boom")
        expect(after?.fields).toStrictEqual({ requestId: "r-1" })
        expect(after?.spans).toStrictEqual(["outer"])
      }),
  )
})

describe("OperationLog.tracing", () => {
  it.effect("is false under effect's built-in tracer and true under any other", () =>
    Effect.gen(function* () {
      expect(yield* OperationLog.tracing).toBe(false)
      const native = yield* Effect.tracer
      const other = Tracer.make({ span: native.span, context: native.context })
      expect(yield* OperationLog.tracing.pipe(Effect.withTracer(other))).toBe(true)
      // Back under the built-in one: false again (the check compares with effect's own tracer, not the first seen).
      expect(yield* OperationLog.tracing.pipe(Effect.withTracer(native))).toBe(false)
    }),
  )
})

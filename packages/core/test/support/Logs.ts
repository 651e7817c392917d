/**
 * The log lines an effect writes, captured in tests: each line's level, its message and
 * its annotations (operation, key, outcome, ...), debug included.
 */
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

/** One captured log line. */
export interface Line {
  readonly level: string
  readonly message: unknown
  readonly fields: Record<string, unknown>
}

/** Runs `self` and returns its value with the log lines it wrote, debug included. */
export const logsOf = <A, E, R>(
  self: Effect.Effect<A, E, R>,
): Effect.Effect<{ readonly value: A; readonly lines: ReadonlyArray<Line> }, E, R> =>
  Effect.suspend(() => {
    const lines: Array<Line> = []
    const capture = Logger.make<unknown, void>(({ annotations, logLevel, message }) => {
      lines.push({
        level: logLevel.label,
        message: Array.isArray(message) ? message[0] : message,
        fields: Object.fromEntries(HashMap.toEntries(annotations)),
      })
    })
    return self.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
      Logger.withMinimumLogLevel(LogLevel.Debug),
      Effect.map((value) => ({ value, lines })),
    )
  })

/**
 * Output for people and for programs on stderr and stdout: whether colour is
 * allowed (`NO_COLOR`, a terminal), a Console that strips ANSI escapes where it
 * is not (so `docket --help > file` is plain text), and the log line formats:
 * `human` (one concise line, `WARN message key=value ...`) on a terminal, JSON
 * lines otherwise or with `--log-format json`.
 *
 * @since 0.1.0
 */
import type * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import type * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"

/**
 * Whether escape sequences may go to `stream`: `NO_COLOR` unset or empty
 * (https://no-color.org), and a terminal or `FORCE_COLOR` set (not `0`), as
 * Node and most tools read it. `packages/cli/bin/docket.mjs` applies the same
 * rule to the help it prints without loading the CLI.
 */
export const colorAllowed = (
  stream: { readonly isTTY?: boolean } = process.stdout,
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean =>
  (env.NO_COLOR === undefined || env.NO_COLOR === "") &&
  (stream.isTTY === true || (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0"))

// CSI sequences (colours, cursor movement) and OSC sequences (hyperlinks, titles).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
const ansi = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g

/** Removes ANSI escape sequences. */
export const strip = (text: string): string => text.replace(ansi, "")

const stripArgs = (args: ReadonlyArray<unknown>) => args.map((a) => (typeof a === "string" ? strip(a) : a))

/**
 * The default Console, with escapes stripped from what goes to a stream that
 * may not have them (stdout for log/info/table, stderr for error/warn).
 */
export const plainConsole = (
  base: Console.Console,
  options: { readonly stdout: boolean; readonly stderr: boolean },
): Console.Console => {
  const out = options.stdout
    ? (f: (...args: ReadonlyArray<unknown>) => Effect.Effect<void>) =>
        (...args: ReadonlyArray<unknown>) =>
          f(...args)
    : (f: (...args: ReadonlyArray<unknown>) => Effect.Effect<void>) =>
        (...args: ReadonlyArray<unknown>) =>
          f(...stripArgs(args))
  const err = options.stderr
    ? (f: (...args: ReadonlyArray<unknown>) => Effect.Effect<void>) =>
        (...args: ReadonlyArray<unknown>) =>
          f(...args)
    : (f: (...args: ReadonlyArray<unknown>) => Effect.Effect<void>) =>
        (...args: ReadonlyArray<unknown>) =>
          f(...stripArgs(args))
  return {
    ...base,
    log: out(base.log),
    info: out(base.info),
    debug: out(base.debug),
    error: err(base.error),
    warn: err(base.warn),
    unsafe: base.unsafe,
  }
}

/** Runs `self` with escapes stripped from stdout and stderr where colour is not allowed. */
export const withPlainOutput = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const stdout = colorAllowed(process.stdout)
  const stderr = colorAllowed(process.stderr)
  return stdout && stderr
    ? self
    : Effect.flatMap(Effect.console, (base) => Effect.withConsole(self, plainConsole(base, { stdout, stderr })))
}

const levelWord: Record<string, string> = {
  FATAL: "FATAL",
  ERROR: "ERROR",
  WARN: "WARN",
  INFO: "INFO",
  DEBUG: "DEBUG",
  TRACE: "TRACE",
}

const colours: Record<string, string> = { FATAL: "31", ERROR: "31", WARN: "33", INFO: "36", DEBUG: "90", TRACE: "90" }

const value = (v: unknown): string => {
  const text = typeof v === "string" ? v : JSON.stringify(v)
  return /^[^\s"=]+$/.test(text ?? "") ? (text ?? "") : JSON.stringify(text)
}

/**
 * One concise line per log entry, for a person at a terminal:
 * `WARN  answered from S3 ... listed=1 heads=1 gets=1`. No timestamp or fiber id;
 * `operation` first when there is one. Colour only when `color`.
 */
export const humanLogger = (color: boolean): Logger.Logger<unknown, string> =>
  Logger.make(({ logLevel, message, annotations, cause }) => {
    const word = levelWord[logLevel.label] ?? logLevel.label
    const head = color ? `\x1b[${colours[logLevel.label] ?? "0"}m${word.padEnd(5)}\x1b[0m` : word.padEnd(5)
    const text = List.toArray(List.fromIterable(Array.isArray(message) ? message : [message]))
      .map((m) => (typeof m === "string" ? m : JSON.stringify(m)))
      .join(" ")
    const fields = [...HashMap.toEntries(annotations)]
      .filter(([k]) => k !== "operation" || text !== String(HashMap.unsafeGet(annotations, "operation")))
      .map(([k, v]) => `${k}=${value(v)}`)
    const failure = cause._tag === "Empty" ? "" : ` cause=${value(String(cause._tag === "Fail" ? cause.error : cause))}`
    return `${head} ${text}${fields.length > 0 ? ` ${fields.join(" ")}` : ""}${failure}`
  })

/** The stderr logger of a command: `human` (concise lines) or `json` (one object per line). */
export const loggerLayer = (format: "human" | "json"): Layer.Layer<never> =>
  Logger.replace(
    Logger.defaultLogger,
    format === "json"
      ? Logger.withConsoleError(Logger.jsonLogger)
      : Logger.withConsoleError(humanLogger(colorAllowed(process.stderr))),
  )

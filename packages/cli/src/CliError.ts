/**
 * The CLI's own error, the exit codes (0 success, 1 failure, 2 bad usage or
 * bad input, 3 drift found by `reconcile` without `--fix` or not all fixed,
 * 130 interrupted) and the one-line message of any error a command can end
 * with. Which exit code an error gets is decided by its class in `ExitCode`,
 * loaded only when a command fails (it imports core's error classes, and with
 * them the workflows they belong to).
 *
 * @since 0.1.0
 */

import * as Data from "effect/Data"

/** A command failed: `BadInput` (exit 2), `Failure` (exit 1) or `Drift` (exit 3). */
export class CliError extends Data.TaggedError("CliError")<{
  readonly reason: "BadInput" | "Failure" | "Drift"
  readonly message: string
  /** Further lines printed after the message (e.g. one per invalid document). */
  readonly details?: ReadonlyArray<string>
  /** The command already printed its result (a report): with `--format json` the message goes to stderr. */
  readonly printed?: boolean
  readonly cause?: unknown
}> {}

/** Exit codes. */
export const ExitCode = { Ok: 0, Failure: 1, BadInput: 2, Drift: 3, Interrupted: 130 } as const

const configOps = ["MissingData", "InvalidData", "SourceUnavailable", "Unsupported", "And", "Or"]

/** The tag of an error, for the JSON error object. */
export const tagOf = (error: unknown): string => {
  const e = error as { _tag?: unknown; _op?: unknown }
  if (typeof e?._tag === "string" && (error as { error?: unknown }).error !== undefined) return "UsageError"
  if (typeof e?._tag === "string") return e._tag
  if (typeof e?._op === "string" && configOps.includes(e._op)) return "ConfigError"
  return "Error"
}

/** A one-line message for an error. */
export const messageOf = (error: unknown): string => {
  const e = error as { message?: unknown; _op?: unknown; _tag?: unknown }
  if (e?._tag === undefined && typeof e?._op === "string" && configOps.includes(e._op))
    return `Configuration: ${String(error)}`
  if (typeof e?.message === "string" && e.message !== "") return e.message.split("\n")[0] ?? e.message
  // @effect/cli's ValidationError carries a HelpDoc in `error`.
  const doc = (error as { error?: unknown }).error
  if (doc !== undefined) return JSON.stringify(doc).match(/"value":"([^"]+)"/)?.[1] ?? "bad usage (see --help)"
  return String(error)
}

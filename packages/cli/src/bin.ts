/**
 * The `docket` entry point: provides the Node platform, runs the CLI, and maps
 * how it ended to an exit code (0 ok, 1 failure, 2 bad usage or input, 3 drift,
 * 130 interrupted) and a one-line error on stderr (a JSON error object on
 * stdout with `--format json`).
 *
 * @since 0.1.0
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cli from "./Cli.js"
import * as CliError from "./CliError.js"
import * as GlobalOptions from "./GlobalOptions.js"
import * as Terminal from "./Terminal.js"

// Global options may be written anywhere: they go in front of the subcommand, where @effect/cli reads them.
const hoisted = GlobalOptions.hoist(process.argv.slice(2))
// @effect/cli stops reading options after a bare `-` (stdin): move it last so `put - --concurrency 2` works.
const args = hoisted.includes("-") ? [...hoisted.filter((a) => a !== "-"), "-"] : hoisted
const argv = [...process.argv.slice(0, 2), ...args]
const jsonErrors = args.some((a, i) => a === "--format=json" || (a === "--format" && args[i + 1] === "json"))

const report = (error: unknown) =>
  Effect.sync(() => {
    const e = error as { _tag?: string; details?: ReadonlyArray<string> }
    // @effect/cli has already printed its own validation errors (with help).
    if (ValidationError.isValidationError(error) && !jsonErrors) return
    // A drift report has been printed already: stdout keeps one JSON document; the note goes to stderr.
    const printed =
      e?._tag === "CliError" &&
      ((error as { reason?: string }).reason === "Drift" || (error as { printed?: boolean }).printed === true)
    if (jsonErrors && !printed) {
      process.stdout.write(
        `${JSON.stringify({ error: { tag: CliError.tagOf(error), message: CliError.messageOf(error), ...(e?.details !== undefined && e.details.length > 0 ? { details: e.details } : {}) } })}\n`,
      )
    } else {
      process.stderr.write(`docket: ${CliError.messageOf(error)}\n`)
      for (const detail of e?.details ?? []) process.stderr.write(`  ${detail}\n`)
    }
  })

let exitCode: number = CliError.ExitCode.Ok

const program = Cli.run(argv).pipe(
  Effect.catchAll((error) =>
    Effect.zipRight(
      report(error),
      // The classes that decide the code are imported only now: a command that succeeds never loads them.
      Effect.flatMap(
        Effect.promise(() => import("./ExitCode.js")),
        (ExitCode) =>
          Effect.sync(() => {
            exitCode = ExitCode.of(error)
          }),
      ),
    ),
  ),
  // Help, tables and logs carry no ANSI escapes on a pipe, a file, or with NO_COLOR.
  Terminal.withPlainOutput,
  Effect.provide(NodeContext.layer),
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    if (Exit.isFailure(exit)) {
      if (Cause.isInterruptedOnly(exit.cause)) exitCode = CliError.ExitCode.Interrupted
      else {
        exitCode = CliError.ExitCode.Failure
        process.stderr.write(`docket: unexpected error: ${Cause.pretty(exit.cause)}\n`)
      }
    }
    onExit(exitCode)
  },
})

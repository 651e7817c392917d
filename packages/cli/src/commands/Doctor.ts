/**
 * `docket doctor`: core's `Doctor` checks as a checklist for people (or one
 * JSON document with `--format json`). Exit 0 only when no check failed
 * (skipped checks, which had nothing to check against, do not fail it).
 * Incomplete configuration is a failed check, not an error: the checklist is
 * printed either way. Imported when the command (declared in `Cli.ts`) runs.
 *
 * @since 0.1.0
 */

import * as Doctor from "@docket/core/Doctor"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../CliError.js"
import * as Environment from "../Environment.js"
import * as GlobalOptions from "../GlobalOptions.js"
import * as Output from "../Output.js"

/** Options of `docket doctor`. */
interface DoctorOptions {
  readonly function: Option.Option<string>
  readonly queue: Option.Option<string>
  readonly namespace: string
}

const mark: Record<Doctor.Status, string> = { pass: "ok  ", fail: "FAIL", skip: "skip" }

/** The checklist as text: one line per check, the differences indented under a failed one. */
export const checklist = (checks: ReadonlyArray<Doctor.Check>): string => {
  const width = Math.max(...checks.map((c) => c.name.length))
  const lines = checks.flatMap((c) => [
    `${mark[c.status]}  ${c.name.padEnd(width)}  ${c.summary}${c.status === "skip" ? "" : ` (${Output.ms(c.durationMs)})`}`,
    ...c.details.map((d) => `${" ".repeat(width + 8)}- ${d}`),
  ])
  const count = (status: Doctor.Status) => checks.filter((c) => c.status === status).length
  lines.push("", `${checks.length} checks: ${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped`)
  return lines.join("\n")
}

/** The clients' credentials: the local stack's static ones (`--local`) travel with the clients, not the process env. */
const clientsOf = (env: Readonly<Record<string, string>>) =>
  Option.match(Environment.credentialsOf(env), {
    onNone: () => ({}),
    onSome: (credentials) => ({
      dynamodb: { credentials },
      s3: { credentials },
      lambda: { credentials },
      cloudwatch: { credentials },
    }),
  })

/** `docket doctor` */
const runDoctor = (o: DoctorOptions) =>
  Effect.gen(function* () {
    const globals = yield* GlobalOptions.root
    const env = yield* Environment.environmentOf(globals)
    const settings = yield* Effect.either(Environment.settingsFrom(Environment.providerOf(env)))
    const checks: ReadonlyArray<Doctor.Check> =
      settings._tag === "Left"
        ? [{ name: "configuration", status: "fail", summary: settings.left.message, details: [], durationMs: 0 }]
        : yield* Doctor.run({
            settings: settings.right,
            ...(Option.isSome(o.function) ? { functionName: o.function.value } : {}),
            ...(Option.isSome(o.queue) ? { queueArn: o.queue.value } : {}),
            metricsNamespace: o.namespace,
            clients: clientsOf(env),
          })
    if (globals.format === "table") yield* Output.line(checklist(checks))
    else yield* Output.line(JSON.stringify({ ok: Doctor.allPassed(checks), checks }))
    if (!Doctor.allPassed(checks)) {
      const failed = checks.filter((c) => c.status === "fail").map((c) => c.name)
      return yield* new CliError({
        reason: "Failure",
        message: `doctor: ${failed.length} check(s) failed: ${failed.join(", ")}`,
        // The checklist (or its JSON document) is on stdout already: stdout keeps one document.
        printed: true,
      })
    }
  })

/** `docket doctor` (declared in `Cli.ts`). */
export const doctor = runDoctor

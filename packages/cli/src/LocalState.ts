/**
 * The state file through which `docket local start` tells other shells (and
 * `--local`) where its stack listens. Read and written through @effect/platform's
 * `FileSystem`.
 *
 * Location: `$DOCKET_LOCAL_STATE` when set, else
 * `$XDG_STATE_HOME/docket/local.json`, else `~/.local/state/docket/local.json`.
 *
 * @since 0.1.0
 */
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"

/** What a running `docket local start` records. */
export interface State {
  readonly pid: number
  readonly startedAt: string
  readonly table: string
  readonly bucket: string
  /** `DOCKET_*` / `AWS_*` variables that point a process at the stack. */
  readonly environment: Readonly<Record<string, string>>
}

/** The state file's path, from an environment (the process's by default). */
export const path = (env: Readonly<Record<string, string | undefined>> = process.env): string =>
  env.DOCKET_LOCAL_STATE ?? join(env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "docket", "local.json")

/** Writes the state file atomically (a temporary file renamed over it), readable by its owner only. */
export const write = (state: State, file: string = path()): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    yield* fs.writeFileString(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
    yield* fs.rename(tmp, file)
  })

const readRaw = (file: string): Effect.Effect<State | undefined, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(
    Effect.flatMap((text) => Effect.try(() => JSON.parse(text) as State)),
    Effect.orElseSucceed(() => undefined),
  )

/** Removes the state file if it is ours (or unreadable). */
export const remove = (
  file: string = path(),
  pid: number = process.pid,
): Effect.Effect<void, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const current = yield* readRaw(file)
    if (current !== undefined && current.pid !== pid) return
    const fs = yield* FileSystem.FileSystem
    yield* fs.remove(file, { force: true }).pipe(Effect.ignore)
  })

/** Whether a process with this id exists (signal 0 only checks). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"
  }
}

/** Why `--local` cannot connect. */
export type Missing =
  | { readonly _tag: "NoStateFile"; readonly file: string }
  | { readonly _tag: "NotRunning"; readonly file: string; readonly pid: number }

/** The state of a running stack, or why there is none. */
export const read = (
  file: string = path(),
): Effect.Effect<{ readonly _tag: "Running"; readonly state: State } | Missing, never, FileSystem.FileSystem> =>
  Effect.map(readRaw(file), (state) => {
    if (state === undefined) return { _tag: "NoStateFile", file } as const
    if (!alive(state.pid)) return { _tag: "NotRunning", file, pid: state.pid } as const
    return { _tag: "Running", state } as const
  })

/** The export lines a second shell evaluates. */
export const exportLines = (environment: Readonly<Record<string, string>>): string =>
  Object.entries(environment)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
    .join("\n")

const shellQuote = (value: string): string =>
  /^[A-Za-z0-9_./:@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`

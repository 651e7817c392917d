/**
 * The state file through which `docket local start` tells other shells (and
 * `--local`) where its stack listens.
 *
 * Location: `$DOCKET_LOCAL_STATE` when set, else
 * `$XDG_STATE_HOME/docket/local.json`, else `~/.local/state/docket/local.json`.
 *
 * @since 0.1.0
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"

/** What a running `docket local start` records. */
export interface State {
  readonly pid: number
  readonly startedAt: string
  readonly table: string
  readonly bucket: string
  /** `DOCKET_*` / `AWS_*` variables that point a process at the stack. */
  readonly environment: Readonly<Record<string, string>>
}

/** The state file's path. */
export const path = (env: NodeJS.ProcessEnv = process.env): string =>
  env.DOCKET_LOCAL_STATE ?? join(env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "docket", "local.json")

/** Writes the state file atomically. */
export const write = (state: State, file: string = path()): void => {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, file)
}

/** Removes the state file if it is ours. */
export const remove = (file: string = path(), pid: number = process.pid): void => {
  const current = readRaw(file)
  if (current === undefined || current.pid === pid) rmSync(file, { force: true })
}

const readRaw = (file: string): State | undefined => {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as State
  } catch {
    return undefined
  }
}

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
export const read = (file: string = path()): { readonly _tag: "Running"; readonly state: State } | Missing => {
  const state = readRaw(file)
  if (state === undefined) return { _tag: "NoStateFile", file }
  if (!alive(state.pid)) return { _tag: "NotRunning", file, pid: state.pid }
  return { _tag: "Running", state }
}

/** The export lines a second shell evaluates. */
export const exportLines = (environment: Readonly<Record<string, string>>): string =>
  Object.entries(environment)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
    .join("\n")

const shellQuote = (value: string): string =>
  /^[A-Za-z0-9_./:@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`

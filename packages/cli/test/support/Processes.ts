/**
 * Real `docket` processes for end-to-end tests: the CLI bundle, spawned with an
 * environment, killable with SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const cli = join(import.meta.dirname, "..", "..")

/**
 * Builds the CLI bundle (packages/cli/scripts/bundle.mjs: staged, then moved into
 * dist/ atomically, so a `docket` another test file runs meanwhile is never torn)
 * and returns the binary's path.
 */
export const bundle = async (): Promise<string> => {
  const script: string = join(cli, "scripts", "bundle.mjs")
  const { bundle: build } = (await import(script)) as { bundle: () => Promise<unknown> }
  await build()
  return join(cli, "dist", "docket.mjs")
}

/** How a process ended. */
export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A running `docket` process. */
export interface Running {
  readonly child: ChildProcess
  readonly done: Promise<Result>
  readonly output: () => { readonly stdout: string; readonly stderr: string }
}

/** Runs `docket ARGS` from `binary` with only `env` (plus PATH and a scratch HOME). */
export const start = (
  binary: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  input?: string,
): Running => {
  const home = mkdtempSync(join(tmpdir(), "docket-e2e-"))
  const child = spawn(process.execPath, [binary, ...args], {
    cwd: home,
    env: { PATH: process.env.PATH ?? "", HOME: home, DOCKET_LOCAL_STATE: join(home, "none.json"), ...env },
    stdio: ["pipe", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString()
  })
  if (input !== undefined) child.stdin?.end(input)
  else child.stdin?.end()
  const done = new Promise<Result>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  return { child, done, output: () => ({ stdout, stderr }) }
}

/** Runs `docket ARGS` to completion. */
export const run = (binary: string, args: ReadonlyArray<string>, env: Record<string, string>, input?: string) =>
  start(binary, args, env, input).done

/** Polls `condition` every `everyMs` until it holds; throws (instead of hanging) after `timeoutMs`. */
export const eventually = async <A>(
  probe: () => Promise<A | undefined> | A | undefined,
  timeoutMs: number,
  everyMs = 200,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

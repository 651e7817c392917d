// The heap limit of the bulk commands (`docket backfill`, `docket reconcile`).
//
// Their memory is flat (the listing, the Scan and the checkpoint are streams; reconcile
// spills its sort runs to files), but with Node's default heap limit V8 collects late and
// a run over 100,000 objects peaked at 384-390 MB of RSS (re-run) and 367-379 MB
// (reconcile), none of it live. With a heap limit V8 collects sooner and the same runs
// stay under 300 MB, no slower (docs/backfill-at-scale.md, Memory). Node cannot lower
// its heap limit once it runs (`v8.setFlagsFromString` does not resize the heap), so
// `bin/docket.mjs` re-runs itself once with `--max-old-space-size` and `--max-semi-space-size`
// for these commands, unless the user gave a limit (NODE_OPTIONS or node's own flags).
//
// Plain JavaScript with no imports: `bin/docket.mjs` loads it only for a bulk command,
// after the `--help`/`--version` fast path, and rss.ts applies the same flags.

/** The subcommands whose process gets the heap limit. */
export const bulkCommands = ["backfill", "reconcile"]

/** The heap limit in MB (old space), by measurement (docs/backfill-at-scale.md). */
export const bulkHeapMB = 160

/**
 * The young generation's semi-space limit in MB. Most of the RSS over the heap in use was
 * the young generation: with 8 MB a 10,000-object reconcile peaked at 162 MB instead of
 * 272 MB (both under the 160 MB old-space limit).
 */
export const bulkSemiSpaceMB = 8

/** The node flags of a bulk command. */
export const bulkFlags = [`--max-old-space-size=${bulkHeapMB}`, `--max-semi-space-size=${bulkSemiSpaceMB}`]

/** The environment variable that marks the re-run process (it absorbs the doubled signal, below). */
export const childMarker = "DOCKET_HEAP_CHILD"

const limitFlag = /^--max[-_](old[-_]space|semi[-_]space|heap)[-_]size(=|$)/

/** Whether node's flags or NODE_OPTIONS already set a heap limit (old space, semi-space or the whole heap). */
export const heapLimitSet = (execArgv, nodeOptions) =>
  execArgv.some((flag) => limitFlag.test(flag)) ||
  (nodeOptions ?? "").split(/\s+/).some((flag) => limitFlag.test(flag.replace(/^["']/, "")))

/** Whether `args` (the CLI's arguments, after `node docket.mjs`) run a bulk command. */
export const isBulk = (args) => {
  const end = args.indexOf("--")
  return (end < 0 ? args : args.slice(0, end)).some((arg) => bulkCommands.includes(arg))
}

/** The node flags to re-run with, or undefined to run in this process. */
export const heapFlags = (args, execArgv, env) =>
  env[childMarker] === undefined && isBulk(args) && !heapLimitSet(execArgv, env.NODE_OPTIONS)
    ? [...bulkFlags]
    : undefined

const forwarded = ["SIGINT", "SIGTERM", "SIGHUP"]

/**
 * Runs `script` again with `flags` in a child that inherits stdio, forwards SIGINT, SIGTERM
 * and SIGHUP to it, and ends this process as the child ended (its exit code, or its signal).
 */
export const reexec = async (flags, script, args) => {
  const { spawn } = await import("node:child_process")
  const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...args], {
    stdio: "inherit",
    env: { ...process.env, [childMarker]: "1" },
  })
  const forward = (signal) => child.kill(signal)
  for (const signal of forwarded) process.on(signal, forward)
  child.on("error", (error) => {
    process.stderr.write(`docket: could not start ${process.execPath}: ${error.message}\n`)
    process.exit(1)
  })
  child.on("exit", (code, signal) => {
    for (const s of forwarded) process.removeListener(s, forward)
    if (signal !== null) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
}

/**
 * In the child: a signal that arrives twice at once (a terminal's Ctrl-C reaches both
 * processes of the group, and the parent forwards it too) counts once. The CLI interrupts
 * the run on the first SIGINT/SIGTERM and leaves a second to Node's default (exit at once,
 * without the last checkpoint), so the copy that arrives within 250 ms is absorbed; a
 * second Ctrl-C after that still stops the process at once.
 */
export const absorbDoubledSignals = () => {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    const first = () => {
      process.removeListener(signal, first)
      // Before the CLI listens (still starting): Node's default, as without this listener.
      if (process.listenerCount(signal) === 0) return process.kill(process.pid, signal)
      const mute = () => {}
      process.on(signal, mute)
      setTimeout(() => process.removeListener(signal, mute), 250).unref()
    }
    process.on(signal, first)
  }
}

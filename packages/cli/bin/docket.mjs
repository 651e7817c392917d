#!/usr/bin/env node
// The `docket` binary: runs the built CLI, dist/docket.mjs (an esbuild bundle whose
// commands load the AWS clients and the local stack only when they run), with
// Node's compile cache on so later runs skip compiling it again.
//
// In the repository (scripts/ is there; the published package has no scripts/),
// it first rebuilds the bundle when any source it is made of is newer, so
// `npx docket` works right after `npm ci` and after every edit, with no build step.
import * as Module from "node:module"

Module.enableCompileCache?.()
const builder = new URL("../scripts/fresh.mjs", import.meta.url)
if (await import("node:fs").then((fs) => fs.existsSync(builder))) {
  await (await import(builder.href)).ensureFresh()
}
// `docket --help` and `docket --version` alone print what the built CLI printed for them when it
// was built (dist/startup.json, written with the bundle), without loading it: 0.1 s instead of
// 0.35 s of CPU. Colour by the CLI's rule (src/Terminal.ts colorAllowed). Anything else runs the CLI.
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === "--help" || args[0] === "--version")) {
  const fs = await import("node:fs")
  const file = new URL("../dist/startup.json", import.meta.url)
  const startup = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined
  if (startup !== undefined) {
    const env = process.env
    const color =
      (env.NO_COLOR === undefined || env.NO_COLOR === "") &&
      (process.stdout.isTTY === true ||
        (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0"))
    process.stdout.write(args[0] === "--version" ? startup.version : color ? startup.helpColor : startup.help)
    process.exit(0)
  }
}
// `docket backfill` and `docket reconcile` run under a heap limit unless the user set one
// (bin/heap.mjs: with Node's default heap their RSS passes 300 MB over 100,000 objects,
// with the limit it stays under it, no slower): this process runs itself again with it.
if (args.includes("backfill") || args.includes("reconcile")) {
  const heap = await import("./heap.mjs")
  const flags = heap.heapFlags(args, process.execArgv, process.env)
  if (flags !== undefined) {
    const { fileURLToPath } = await import("node:url")
    await heap.reexec(flags, fileURLToPath(import.meta.url), args)
  } else {
    if (process.env[heap.childMarker] !== undefined) heap.absorbDoubledSignals()
    await import("../dist/docket.mjs")
  }
} else {
  await import("../dist/docket.mjs")
}

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
await import("../dist/docket.mjs")

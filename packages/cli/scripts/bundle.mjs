#!/usr/bin/env node
// Bundles the docket CLI into one ESM file, dist/docket.mjs (esbuild).
// ESM bundles of CommonJS dependencies (the AWS SDK) need `require`: the banner
// provides it through createRequire. Imports are deep paths throughout
// (`@effect/platform-node/NodeRuntime`, `effect/Effect`), so nothing drags in
// barrels. The S3 emulator and the DynamoDB Local jar stay external (resolved
// from node_modules at run time); the stack's watchdog script is copied along.
import { copyFileSync, mkdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
// `--outfile PATH` (tests that run in parallel with others bundle to their own file).
const at = process.argv.indexOf("--outfile")
const outfile = at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : join(root, "dist", "docket.mjs")
const started = Date.now()
await build({
  entryPoints: [join(root, "src", "bin.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: process.argv.includes("--minify"),
  sourcemap: false,
  legalComments: "none",
  external: ["fauxqs", "amplify-dynamodb-simulator"],
  banner: {
    js: [
      "#!/usr/bin/env node",
      'import { createRequire as __docketCreateRequire } from "node:module";',
      "const require = __docketCreateRequire(import.meta.url);",
      'process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";',
    ].join("\n"),
  },
  logLevel: "warning",
})
const localInternal = join(root, "..", "local", "src", "internal", "watchdog.sh")
mkdirSync(join(dirname(outfile), "internal"), { recursive: true })
copyFileSync(localInternal, join(dirname(outfile), "internal", "watchdog.sh"))
const kb = Math.round(statSync(outfile).size / 1024)
console.log(`built ${outfile} (${kb} KB) in ${Date.now() - started} ms`)

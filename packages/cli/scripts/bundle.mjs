#!/usr/bin/env node
// Bundles the docket CLI (esbuild): dist/docket.mjs, the entry, plus the chunks
// (dist/docket-*.mjs) that commands import lazily (the AWS clients, the local stack),
// so `docket --version` loads neither. ESM bundles of CommonJS dependencies (the
// AWS SDK) need `require`: the banner provides it through createRequire. Imports
// are deep paths throughout (`@effect/platform-node/NodeRuntime`, `effect/Effect`),
// so nothing drags in barrels; our packages resolve to their source through the
// `@docket/source` condition. The S3 emulator and the DynamoDB Local jar stay
// external (resolved from node_modules at run time); the stack's watchdog script
// is copied along.
//
// The build goes to a temporary directory first; the chunks (content-hashed
// names) then move into dist/ and the entry replaces dist/docket.mjs last,
// so a `docket` running meanwhile sees either the old or the new bundle.
import { execFileSync } from "node:child_process"
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const dist = join(root, "dist")
const outfile = join(dist, "docket.mjs")

const isChunk = (name) => name.startsWith("docket-") && name.endsWith(".mjs")

/** Builds the bundle; returns its entry's size in bytes and the build's duration. */
export const bundle = async ({ minify = false } = {}) => {
  const started = Date.now()
  const staging = join(dist, `.staging-${process.pid}`)
  rmSync(staging, { recursive: true, force: true })
  await build({
    entryPoints: { docket: join(root, "src", "bin.ts") },
    outdir: staging,
    outExtension: { ".js": ".mjs" },
    chunkNames: "docket-[name]-[hash]",
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node22",
    conditions: ["@docket/source"],
    minify,
    sourcemap: false,
    legalComments: "none",
    external: ["fauxqs", "amplify-dynamodb-simulator"],
    banner: {
      js: [
        "#!/usr/bin/env node",
        'import { createRequire as __docketCreateRequire } from "node:module";',
        "const require = __docketCreateRequire(import.meta.url);",
      ].join("\n"),
    },
    logLevel: "warning",
  })
  for (const chunk of readdirSync(staging).filter(isChunk)) renameSync(join(staging, chunk), join(dist, chunk))
  // The root help and the version, printed by the built CLI itself, for bin/docket.mjs to print
  // without loading the CLI (`docket --help` and `docket --version` are run dozens of times a day).
  // The old file goes before the new entry moves in, so it never outlives the entry it was made from.
  const startupFile = join(dist, "startup.json")
  rmSync(startupFile, { force: true })
  renameSync(join(staging, "docket.mjs"), outfile)
  const printed = (args, env) =>
    execFileSync(process.execPath, [outfile, ...args], {
      env: { ...process.env, NO_COLOR: "", FORCE_COLOR: "", ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
  const startup = {
    version: printed(["--version"], {}),
    help: printed(["--help"], {}),
    helpColor: printed(["--help"], { FORCE_COLOR: "1" }),
  }
  writeFileSync(startupFile, JSON.stringify(startup))
  rmSync(staging, { recursive: true, force: true })
  const localInternal = join(root, "..", "local", "src", "internal", "watchdog.sh")
  mkdirSync(join(dist, "internal"), { recursive: true })
  copyFileSync(localInternal, join(dist, "internal", "watchdog.sh"))
  return { bytes: statSync(outfile).size, ms: Date.now() - started }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // A full build drops the chunks of earlier builds (the bin shim's rebuild only adds).
  mkdirSync(dist, { recursive: true })
  for (const chunk of readdirSync(dist).filter(isChunk)) rmSync(join(dist, chunk))
  const { bytes, ms } = await bundle({ minify: process.argv.includes("--minify") })
  console.log(`built ${outfile} (${Math.round(bytes / 1024)} KB) in ${ms} ms`)
}

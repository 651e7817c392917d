#!/usr/bin/env node
/**
 * Packages the Lambda: an esbuild bundle (ESM, minified, node24, deep imports,
 * the AWS SDK included, code splitting) and a zip that is byte-identical across
 * builds of the same source: the entry and its chunks, a fixed timestamp, fixed
 * permissions, a fixed compression level, no build paths or dates inside.
 *
 * Code splitting: every dynamic `import()` (the handler's scheduled and backfill
 * entries, the OTLP exporter, the AWS SDK's own credential providers other than
 * the environment's) becomes a chunk under `chunks/` that is loaded only when an
 * invocation reaches it, so a cold start parses and evaluates only the entry and
 * the chunks it imports statically. `bytes` is that (what an S3-event cold
 * start loads); `totalBytes` is every file shipped.
 *
 *   npm run package -w @docket/lambda            -> packages/lambda/build/{handler.mjs,chunks/,handler.zip}
 *
 * `bundle` and `zip` are exported for the benchmarks and tests, which bundle
 * other entry points the same way.
 */
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import { zipSync } from "fflate"

const here = dirname(fileURLToPath(import.meta.url))
export const packageDir = resolve(here, "..")
export const buildDir = join(packageDir, "build")

// ESM bundles of CommonJS code (the AWS SDK's dependencies) call `require`:
// give them one, and the CommonJS globals.
const banner = [
  'import { createRequire as __docketCreateRequire } from "node:module";',
  'import { fileURLToPath as __docketFileURLToPath } from "node:url";',
  'import { dirname as __docketDirname } from "node:path";',
  "const require = __docketCreateRequire(import.meta.url);",
  "const __filename = __docketFileURLToPath(import.meta.url);",
  "const __dirname = __docketDirname(__filename);",
].join("\n")

/**
 * Bundles `entry` into `outfile` (an `.mjs` path) the way the Lambda is shipped,
 * with its chunks in `chunks/` beside it (named by their content hash, so bundles
 * of several entries can share a folder). Returns
 * `bytes`, the size of what importing `outfile` loads (the entry and the chunks
 * it imports statically: what a cold start parses), `totalBytes` and `files`
 * (every output, relative to the entry's folder, sorted), a `sha256` over all
 * of them, `loadedInputs` (the source files in what importing `outfile` loads,
 * sorted: what an S3-event cold start parses), and esbuild's metafile (inputs
 * and their sizes).
 *
 * @param {{ entry: string, outfile: string, minify?: boolean }} options
 */
export const bundle = async ({ entry, outfile, minify = true }) => {
  const outdir = dirname(outfile)
  const name = basename(outfile, ".mjs")
  const result = await build({
    entryPoints: [{ in: entry, out: name }],
    outdir,
    outExtension: { ".js": ".mjs" },
    entryNames: "[name]",
    chunkNames: "chunks/[name]-[hash]",
    splitting: true,
    bundle: true,
    minify,
    platform: "node",
    target: "node24",
    format: "esm",
    mainFields: ["module", "main"],
    conditions: ["@docket/source", "import", "module"],
    banner: { js: banner },
    legalComments: "none",
    sourcemap: false,
    metafile: true,
    logLevel: "warning",
    // Reproducible: no absolute paths in the output.
    absWorkingDir: packageDir,
    define: { "process.env.NODE_ENV": '"production"' },
  })
  const outputs = result.metafile.outputs
  const absolute = (path) => resolve(packageDir, path)
  const entryKey = Object.keys(outputs).find((path) => absolute(path) === resolve(outfile))
  // What importing the entry loads: the entry and, transitively, its static imports.
  const loaded = new Set()
  const pending = [entryKey]
  while (pending.length > 0) {
    const path = pending.pop()
    if (path === undefined || loaded.has(path)) continue
    loaded.add(path)
    for (const imported of outputs[path].imports) {
      if (imported.kind === "import-statement" && !imported.external) pending.push(imported.path)
    }
  }
  const files = Object.keys(outputs)
    .map((path) => relative(outdir, absolute(path)))
    .sort()
  const hash = createHash("sha256")
  let totalBytes = 0
  for (const file of files) {
    const content = readFileSync(join(outdir, file))
    totalBytes += content.byteLength
    hash.update(file).update("\0").update(content)
  }
  let bytes = 0
  const inputs = new Set()
  for (const path of loaded) {
    bytes += outputs[path].bytes
    for (const input of Object.keys(outputs[path].inputs)) inputs.add(input)
  }
  const loadedInputs = [...inputs].sort()
  return { bytes, totalBytes, files, sha256: hash.digest("hex"), loadedInputs, metafile: result.metafile }
}

// DOS timestamps are local time: build the date from local fields so the zip does not depend on TZ.
const fixedTime = new Date(2020, 0, 1, 0, 0, 0)

/**
 * Zips files deterministically: entries sorted by name, fixed mtime, Unix
 * permissions 0644, deflate level 9.
 *
 * @param {Record<string, Uint8Array>} files name in the zip -> content
 * @returns {Uint8Array}
 */
export const zip = (files) => {
  const entries = Object.keys(files)
    .sort()
    .map((name) => [name, [files[name], { level: 9, mtime: fixedTime, os: 3, attrs: 0o100644 << 16 }]])
  return zipSync(Object.fromEntries(entries), { level: 9, mtime: fixedTime })
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`

const main = async () => {
  rmSync(join(buildDir, "chunks"), { recursive: true, force: true })
  mkdirSync(buildDir, { recursive: true })
  const outfile = join(buildDir, "handler.mjs")
  const bundled = await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile })
  const chunks = Object.fromEntries(
    bundled.files.filter((file) => file !== "handler.mjs").map((file) => [file, readFileSync(join(buildDir, file))]),
  )
  const archive = zip({ "handler.mjs": readFileSync(outfile), ...chunks })
  const zipFile = join(buildDir, "handler.zip")
  writeFileSync(zipFile, archive)
  const zipSha = createHash("sha256").update(archive).digest("hex")
  console.log(
    `bundle  ${outfile}  ${kb(bundled.bytes)} loaded at import, ${kb(bundled.totalBytes)} in ${bundled.files.length} files  sha256 ${bundled.sha256}`,
  )
  console.log(`zip     ${zipFile}  ${kb(archive.byteLength)}  sha256 ${zipSha}`)
  console.log("handler: handler.handler (runtime nodejs24.x)")
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}

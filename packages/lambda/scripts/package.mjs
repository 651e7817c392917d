#!/usr/bin/env node
/**
 * Packages the Lambda: an esbuild bundle (ESM, minified, node24, deep imports,
 * the AWS SDK included) and a zip that is byte-identical across builds of the
 * same source: one entry, a fixed timestamp, fixed permissions, a fixed
 * compression level, no build paths or dates inside.
 *
 *   npm run package -w @docket/lambda            -> packages/lambda/build/{handler.mjs,handler.zip}
 *
 * `bundle` and `zip` are exported for the benchmarks and tests, which bundle
 * other entry points the same way.
 */
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
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
 * Bundles `entry` into `outfile` the way the Lambda is shipped. Returns the
 * bundle's size and esbuild's metafile (inputs and their sizes).
 *
 * @param {{ entry: string, outfile: string, minify?: boolean }} options
 */
export const bundle = async ({ entry, outfile, minify = true }) => {
  const result = await build({
    entryPoints: [entry],
    outfile,
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
  const bytes = readFileSync(outfile)
  return {
    bytes: bytes.byteLength,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    metafile: result.metafile,
  }
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
  mkdirSync(buildDir, { recursive: true })
  const outfile = join(buildDir, "handler.mjs")
  const bundled = await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile })
  const archive = zip({ "handler.mjs": readFileSync(outfile) })
  const zipFile = join(buildDir, "handler.zip")
  writeFileSync(zipFile, archive)
  const zipSha = createHash("sha256").update(archive).digest("hex")
  console.log(`bundle  ${outfile}  ${kb(bundled.bytes)}  sha256 ${bundled.sha256}`)
  console.log(`zip     ${zipFile}  ${kb(archive.byteLength)}  sha256 ${zipSha}`)
  console.log("handler: handler.handler (runtime nodejs24.x)")
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}

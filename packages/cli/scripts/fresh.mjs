// Used by bin/docket.mjs inside the repository: rebuilds dist/docket.mjs when a
// source file of the CLI, core or local (or a package.json, or the bundler) is
// newer than it. A stat of every file is ~2 ms; esbuild is only loaded to build.
import { existsSync, readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const cli = join(dirname(fileURLToPath(import.meta.url)), "..")
const packages = join(cli, "..")

const newest = (path) => {
  let latest = 0
  const visit = (p) => {
    const s = statSync(p)
    if (s.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name))
    else if (s.mtimeMs > latest) latest = s.mtimeMs
  }
  if (existsSync(path)) visit(path)
  return latest
}

/** Rebuilds the bundle if it is missing or older than its sources. */
export const ensureFresh = async () => {
  const entry = join(cli, "dist", "docket.mjs")
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0
  const sources = [
    ...["cli", "core", "local"].flatMap((p) => [join(packages, p, "src"), join(packages, p, "package.json")]),
    join(cli, "scripts", "bundle.mjs"),
  ]
  if (sources.every((s) => newest(s) < built)) return
  process.stderr.write("docket: building the CLI from source (dist/docket.mjs)...\n")
  const { bundle } = await import("./bundle.mjs")
  await bundle()
}

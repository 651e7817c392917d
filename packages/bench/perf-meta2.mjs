import { join } from "node:path"
import { bundle, packageDir } from "@docket/lambda/scripts/package.mjs"

const r = await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile: "/tmp/perf-min.mjs" })
const importers = new Map()
for (const [p, v] of Object.entries(r.metafile.inputs))
  for (const i of v.imports) {
    if (!importers.has(i.path)) importers.set(i.path, [])
    importers.get(i.path).push(p)
  }
const short = (p) => p.replace(/.*node_modules\//, "")
for (const target of process.argv.slice(2)) {
  const key = [...importers.keys()].find((k) => k.endsWith(target))
  console.log(target, "<-", (importers.get(key) ?? []).map(short).join(", "))
}

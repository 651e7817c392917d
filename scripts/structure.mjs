#!/usr/bin/env node
// The structure of the packages' source (core, local, cli, lambda; tests, bench and
// scripts aside): import cycles between modules (value and dynamic imports; `import type`
// is erased and does not count), the longest module, and the modules over LIMIT lines.
// Exits 1 when there is a cycle or a module over the limit.
//
//   npm run structure            # limit 450
//   node scripts/structure.mjs 300
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const limit = Number(process.argv[2] ?? 450)

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

const files = new Set(
  ["core", "local", "cli", "lambda"].flatMap((pkg) =>
    walk(join(root, "packages", pkg, "src")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
  ),
)

const importPattern = /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/gm
const graph = new Map()
for (const file of files) {
  const deps = new Set()
  for (const match of readFileSync(file, "utf8").matchAll(importPattern)) {
    const target = normalize(join(dirname(file), match[1] ?? match[2]))
    const candidates = [target.endsWith(".js") ? `${target.slice(0, -3)}.ts` : `${target}.ts`, join(target, "index.ts")]
    const found = candidates.find((c) => files.has(c))
    if (found !== undefined) deps.add(found)
  }
  graph.set(file, deps)
}

// Tarjan's strongly connected components: every component of more than one module is a cycle.
const index = new Map()
const low = new Map()
const stack = []
const onStack = new Set()
const cycles = []
let counter = 0
const strong = (v) => {
  index.set(v, counter)
  low.set(v, counter)
  counter++
  stack.push(v)
  onStack.add(v)
  for (const w of graph.get(v)) {
    if (!index.has(w)) {
      strong(w)
      low.set(v, Math.min(low.get(v), low.get(w)))
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)))
  }
  if (low.get(v) === index.get(v)) {
    const component = []
    for (;;) {
      const w = stack.pop()
      onStack.delete(w)
      component.push(w)
      if (w === v) break
    }
    if (component.length > 1) cycles.push(component)
  }
}
for (const v of graph.keys()) if (!index.has(v)) strong(v)

const lines = new Map([...files].map((f) => [f, readFileSync(f, "utf8").split("\n").length - 1]))
const rel = (f) => relative(root, f)
const sorted = [...lines].sort((a, b) => b[1] - a[1])
const over = sorted.filter(([, n]) => n > limit)
for (const cycle of cycles) console.log(`CYCLE ${cycle.map(rel).sort().join(" <-> ")}`)
for (const [file, n] of over) console.log(`LONG ${rel(file)} ${n}`)
const [longest, longestLines] = sorted[0]
console.log(
  `${files.size} modules, ${cycles.length} import cycles, longest ${rel(longest)} ${longestLines} lines, ${over.length} over ${limit}`,
)
process.exit(cycles.length > 0 || over.length > 0 ? 1 : 0)

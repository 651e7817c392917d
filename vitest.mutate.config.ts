import { join } from "node:path"
import { defineConfig } from "vitest/config"
import { partition } from "./vitest.files.js"

// Mutation testing (`npm run mutate`, stryker.config.mjs) runs core's memory-only test
// files: no JVM, one fork. `@docket/core/*` resolves to this checkout's sources so
// that Stryker's sandbox copy (not the workspace symlink's target) is what runs.
const root = import.meta.dirname
const core = join(root, "packages/core/src")
const conditions = ["@docket/source", "node", "development|production"]

// DOCKET_MUTATE_RUNS=F (scripts/mutate.mjs --runs F, 0 < F <= 1) scales every literal
// `numRuns: N` (and `DOCKET_PROPERTY_RUNS ?? N` default) in core's test files to max(10, ceil(N * F)) at load time, for a quick pass
// over a module: only kills can be lost (a property with fewer runs on the same seed finds
// less), so every mutant that survives a scaled pass is run again at full strength
// (docs/testing.md). Default 1: the tests as written.
const runsScale = Number(process.env.DOCKET_MUTATE_RUNS ?? 1)
if (!(runsScale > 0 && runsScale <= 1)) throw new Error(`DOCKET_MUTATE_RUNS must be in (0, 1], got ${runsScale}`)
const scaleRuns = {
  name: "docket-mutate-scale-num-runs",
  enforce: "pre" as const,
  transform(code: string, id: string) {
    if (runsScale === 1 || !id.includes("/packages/core/test/")) return null
    const scaled = (n: string) => Math.max(10, Math.ceil(Number(n) * runsScale))
    return code
      .replace(/\bnumRuns: (\d+)/g, (_, n: string) => `numRuns: ${scaled(n)}`)
      .replace(
        /(process\.env\.DOCKET_PROPERTY_RUNS \?\? )(\d+)/g,
        (_, head: string, n: string) => `${head}${scaled(n)}`,
      )
  },
}

export default defineConfig({
  plugins: [scaleRuns],
  ssr: { resolve: { conditions } },
  resolve: {
    conditions,
    alias: [
      { find: /^@docket\/core$/, replacement: join(core, "index.ts") },
      { find: /^@docket\/core\/(.*)$/, replacement: join(core, "$1.ts") },
    ],
  },
  test: {
    include: partition(root).memory.filter((f) => f.startsWith("packages/core/test/")),
    pool: "forks",
    // The suite's own setup: the equality tester for plain objects with a `constructor`
    // field, and the property seed (scripts/mutate.mjs fixes it: DOCKET_SEED).
    setupFiles: [join(root, "vitest.setup.ts")],
    // Generous: mutants run under instrumentation on a shared, loaded machine; a mutant that
    // hangs is caught by Stryker's own timeout, not this one.
    testTimeout: 600_000,
  },
})

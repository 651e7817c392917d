import { join } from "node:path"
import { defineConfig } from "vitest/config"
import { partition } from "./vitest.files.js"

// Mutation testing (`npm run mutate`, stryker.config.mjs) runs core's memory-only test
// files: no JVM, one fork. `@docket/core/*` resolves to this checkout's sources so
// that Stryker's sandbox copy (not the workspace symlink's target) is what runs.
const root = import.meta.dirname
const core = join(root, "packages/core/src")
const conditions = ["@docket/source", "node", "development|production"]

export default defineConfig({
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
    // Generous: mutants run under instrumentation on a shared, loaded machine; a mutant that
    // hangs is caught by Stryker's own timeout, not this one.
    testTimeout: 600_000,
  },
})

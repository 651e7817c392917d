import { defineConfig } from "vitest/config"
import { partition } from "./vitest.files.js"

// Inside the monorepo the packages resolve to their TypeScript source through the
// `@docket/source` export condition (published builds resolve `types`/`import` to dist/).
// The rest are Vitest's defaults (Vite's server conditions without "module"), which a
// `conditions` setting replaces.
const conditions = ["@docket/source", "node", "development|production"]

// Two projects: `memory` files never start the local stack; `local` files share one
// (the global setup runs only when a `local` file is selected). `npx vitest run
// --project memory` is the fast loop; `npx vitest run FILE` starts the stack only if
// FILE needs it.
const { memory, local } = partition(import.meta.dirname)

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Two cores shared by many runs: property tests take minutes when the machine is loaded.
    // A hang still fails (every paging loop in a property is bounded; this is the backstop).
    testTimeout: 300_000,
    hookTimeout: 120_000,
    setupFiles: ["./vitest.setup.ts"],
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".vitest-results.json" },
    projects: [
      { extends: true, test: { name: "memory", include: memory } },
      { extends: true, test: { name: "local", include: local, globalSetup: ["./packages/local/src/globalSetup.ts"] } },
    ],
  },
})

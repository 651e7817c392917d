import { defineConfig } from "vitest/config"

// Inside the monorepo the packages resolve to their TypeScript source through the
// `@docket/source` export condition (published builds resolve `types`/`import` to dist/).
// The rest are Vitest's defaults (Vite's server conditions without "module"), which a
// `conditions` setting replaces.
const conditions = ["@docket/source", "node", "development|production"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/test/**/*.test.ts", "infra/test/**/*.test.ts"],
    globalSetup: ["./packages/local/src/globalSetup.ts"],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".vitest-results.json" },
  },
})

import { defineConfig } from "vitest/config"
import { partition } from "./vitest.files.js"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"

// Two projects: `memory` files never start the local stack; `local` files share one
// (the global setup runs only when a `local` file is selected). `npx vitest run
// --project memory` is the fast loop; `npx vitest run FILE` starts the stack only if
// FILE needs it.
const { memory, local } = partition(import.meta.dirname)

export default defineConfig({
  test: {
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Two cores shared by many runs: property tests take minutes when the machine is loaded.
    // A hang still fails (every paging loop in a property is bounded; this is the backstop).
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".vitest-results.json" },
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    projects: [
      { extends: true, test: { name: "memory", include: memory } },
      { extends: true, test: { name: "local", include: local, globalSetup: ["./packages/local/src/globalSetup.ts"] } },
    ],
  },
})

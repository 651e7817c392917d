#!/usr/bin/env node
// Runs the docket CLI from its TypeScript source (tsx), so `npx docket` works
// right after `npm ci`. The single-file bundle (`npm run build -w @docket/cli`)
// is the way to ship it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"
const { register } = await import("tsx/esm/api")
register()
await import("../src/bin.ts")

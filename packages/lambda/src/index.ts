/**
 * @docket/lambda: the Lambda adapter of S3 event sync. The deployed entry point
 * is `handler.ts` (bundled by `npm run package -w @docket/lambda`); this index
 * exposes the pieces for tests and other runtimes.
 *
 * @since 0.1.0
 */
export * as BatchBackfill from "./BatchBackfill.js"
export * as EventHandler from "./EventHandler.js"
export * as ScheduledTask from "./ScheduledTask.js"

/**
 * The handler's invocations other than S3 events, behind one dynamic import:
 * the scheduled tasks (`ScheduledTask`) and the distributed backfill
 * (`BatchBackfill`). One split point instead of two: the bundler makes a chunk
 * of the code each pair of split points shares, and every chunk the entry loads
 * is a module Node resolves, reads and compiles at the cold start (the files
 * loaded at import: `docs/deployment.md`).
 *
 * @since 0.1.0
 */
export * as BatchBackfill from "./BatchBackfill.js"
export * as ScheduledTask from "./ScheduledTask.js"

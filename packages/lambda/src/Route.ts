/**
 * Which entry an invocation is for, decided from the event's shape alone. Kept
 * apart from the entries themselves so that the handler can load the scheduled
 * tasks and the distributed backfill only when an invocation needs them: an S3
 * event never imports their code (Reconcile, Heal's sweep, Backfill).
 *
 * @since 0.2.0
 */

/** Whether an invocation's event is a scheduled task (it names `docket`) rather than an S3 event. */
export const isScheduledTask = (event: unknown): boolean =>
  typeof event === "object" && event !== null && !Array.isArray(event) && "docket" in event

/** Whether an event is an S3 Batch Operations invocation. */
export const isBatchOperations = (event: unknown): boolean =>
  typeof event === "object" && event !== null && "invocationSchemaVersion" in event && "tasks" in event

/** Whether an event is a Distributed Map item batch for Docket. */
export const isItemBatch = (event: unknown): boolean =>
  typeof event === "object" &&
  event !== null &&
  "Items" in event &&
  (event as { BatchInput?: { docket?: unknown } }).BatchInput?.docket === "backfill"

/** The entry that handles `event`: a scheduled task, a distributed backfill batch, or S3 event sync. */
export const of = (event: unknown): "scheduled" | "backfill" | "s3" =>
  isScheduledTask(event) ? "scheduled" : isBatchOperations(event) || isItemBatch(event) ? "backfill" : "s3"

/**
 * The Lambda entry point (`handler.handler`, runtime `nodejs24.x`): S3 events
 * (direct, through SQS, or from EventBridge) in, cache converged to S3 out;
 * the scheduled tasks of EventBridge Scheduler (`{ "docket": "reconcile", ... }`,
 * see `ScheduledTask`); and the distributed backfill of S3 Batch Operations
 * and Step Functions Distributed Map item batches (see `BatchBackfill`).
 * One Effect runtime per container, built from the environment on the first
 * invocation (a `ManagedRuntime` builds its layer lazily) and disposed on
 * SIGTERM, exactly what effect-aws's `LambdaHandler.make` does.
 *
 * It is written out here instead of calling `LambdaHandler.make` because
 * `@effect-aws/lambda`'s modules import the `effect` barrel
 * (`import { Effect, Layer, ... } from "effect"`), which keeps whole namespaces
 * in the bundle: measured, +39 KB minified (852 -> 813 KB) and ~4% of the
 * handler's import time. Deep imports only (DESIGN section 2).
 *
 * Only S3 event sync is imported up front. The scheduled tasks and the
 * distributed backfill are imported on the first invocation that needs them
 * (the package is bundled with code splitting, so their code (`Tasks`), Reconcile's and
 * Backfill's included, sits in chunks that an S3-event container never loads).
 * They run on a runtime of their own, created on the first such invocation, with
 * every operation of the cache and the store; S3 event sync's runtime has only
 * the single-document ones (`EventHandler.layerConfig`), so an S3-event container
 * loads no query, scan or listing code and none of effect's `Stream`. Lambda runs
 * one invocation at a time per container, so the two never run at once (each has
 * its own `DOCKET_RPS` limiter).
 *
 * @since 0.1.0
 */
import type { Context as LambdaContext } from "aws-lambda"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as BatchBackfill from "./BatchBackfill.js"
import * as EventHandler from "./EventHandler.js"
import * as Route from "./Route.js"
import type * as ScheduledTask from "./ScheduledTask.js"

/** The container's S3-event runtime: its layer is built on the first invocation, then shared. */
const runtime = ManagedRuntime.make(EventHandler.layerConfig)

/** The runtime of the scheduled tasks and the distributed backfill, created on the first one. */
let tasksRuntime: typeof runtime | undefined
const tasks = (): typeof runtime => {
  tasksRuntime ??= ManagedRuntime.make(EventHandler.layerConfigWith({ documentsOnly: false }))
  return tasksRuntime
}

// Lambda sends SIGTERM before it shuts a container down (when extensions are
// registered); release the layer's resources (SDK clients, the rate limiter) then.
const onSignal = (signal: NodeJS.Signals) => {
  Effect.runFork(
    Effect.sync(() => console.log(`[runtime] ${signal} received, cleaning up`)).pipe(
      Effect.zipRight(runtime.disposeEffect),
      Effect.zipRight(tasksRuntime === undefined ? Effect.void : tasksRuntime.disposeEffect),
      Effect.ensuring(Effect.sync(() => process.exit(0))),
    ),
  )
}
process.on("SIGTERM", onSignal)
process.on("SIGINT", onSignal)

/** The handler Lambda calls. */
export const handler = async (
  event: unknown,
  context: LambdaContext,
): Promise<
  | EventHandler.SqsBatchResponse
  | ScheduledTask.Report
  | BatchBackfill.BatchOperationsResponse
  | BatchBackfill.ItemBatchResponse
  | undefined
> => {
  // Do not wait for the runtime's background fibers (the rate limiter's refill) to end.
  context.callbackWaitsForEmptyEventLoop = false
  switch (Route.of(event)) {
    case "scheduled": {
      const { ScheduledTask } = await import("./Tasks.js")
      return tasks().runPromise(ScheduledTask.handle(event, context).pipe(Effect.provide(EventHandler.layerTracing)))
    }
    case "backfill": {
      const { BatchBackfill } = await import("./Tasks.js")
      return tasks().runPromise(BatchBackfill.handle(event, context).pipe(Effect.provide(EventHandler.layerTracing)))
    }
    case "s3":
      return runtime.runPromise(EventHandler.handle(event, context).pipe(Effect.provide(EventHandler.layerTracing)))
  }
}

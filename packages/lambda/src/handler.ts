/**
 * The Lambda entry point (`handler.handler`, runtime `nodejs22.x`): S3 events
 * (direct, through SQS, or from EventBridge) in, cache converged to S3 out.
 * One Effect runtime per container, built from the environment on the first
 * invocation and disposed on SIGTERM (effect-aws's `LambdaHandler`).
 *
 * @since 0.1.0
 */
import * as LambdaHandler from "@effect-aws/lambda/LambdaHandler"
import * as EventHandler from "./EventHandler.js"

/** The handler Lambda calls. */
export const handler = LambdaHandler.make({ handler: EventHandler.handle, layer: EventHandler.layerConfig })

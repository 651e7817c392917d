/**
 * The plumbing of the S3 store's SDK calls: the client, one command sent with
 * the fiber's abort signal, and the SDK's errors classified into `StoreError`s.
 *
 * @since 0.2.0
 */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { StoreError } from "../DocumentStore.js"
import * as Retry from "../Retry.js"
import { asAbortSignal, type LightController } from "./abort.js"
import { own } from "./ownedClient.js"

/**
 * A scoped client: `maxAttempts: 1` so that {@link Retry} is the only retry
 * layer, path-style addressing whenever an endpoint is set (emulators).
 */
export const acquire = (clientConfig: S3ClientConfig = {}): Effect.Effect<S3Client, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      // Our own client: the middleware stack resolved once per command (ownedClient.ts).
      own(
        new S3Client({
          ...(clientConfig.endpoint !== undefined ? { forcePathStyle: true } : {}),
          ...clientConfig,
          maxAttempts: 1,
        }),
      ),
    ),
    (c) => Effect.sync(() => c.destroy()),
  )

/** One SDK command, sent with the fiber's abort signal; fails with the SDK's error as it is. */
export const send = <O>(command: (abortSignal: AbortSignal) => Promise<O>): Effect.Effect<O, unknown> =>
  Effect.tryPromise({ try: command, catch: (e) => e })

/**
 * One SDK command sent with `controller`'s signal (a light one, `abort.ts`), in one async step of the fiber: interrupting
 * the fiber aborts it (the caller may abort it too, e.g. on a timeout). Fails with the SDK's
 * error as it is.
 */
export const sendWith = <O>(
  controller: LightController,
  command: (abortSignal: AbortSignal) => Promise<O>,
): Effect.Effect<O, unknown> =>
  Effect.async<O, unknown>((resume) => {
    try {
      command(asAbortSignal(controller.signal)).then(
        (out) => resume(Effect.succeed(out)),
        (error: unknown) => resume(Effect.fail(error)),
      )
    } catch (error) {
      resume(Effect.fail(error))
    }
    return Effect.sync(() => controller.abort())
  })

/**
 * {@link sendWith} with the answer and the error handled in the step that resumes the fiber
 * (no `map`, `catchIf` or `mapError` steps after it). A handler that throws is a defect.
 */
export const sendThen = <O, B, E>(
  controller: LightController,
  command: (abortSignal: AbortSignal) => Promise<O>,
  onSuccess: (out: O) => Effect.Effect<B, E>,
  onFailure: (error: unknown) => Effect.Effect<B, E>,
): Effect.Effect<B, E> =>
  Effect.async<B, E>((resume) => {
    const settle = (handle: () => Effect.Effect<B, E>) => {
      let next: Effect.Effect<B, E>
      try {
        next = handle()
      } catch (defect) {
        next = Effect.die(defect)
      }
      resume(next)
    }
    try {
      command(asAbortSignal(controller.signal)).then(
        (out) => settle(() => onSuccess(out)),
        (error: unknown) => settle(() => onFailure(error)),
      )
    } catch (error) {
      settle(() => onFailure(error))
    }
    return Effect.sync(() => controller.abort())
  })

/** The S3 errors that mean "no such object" (NoSuchKey, a HEAD's NotFound, any 404). */
export const isNotFound = (error: unknown): boolean => Retry.classify(error).reason === "NotFound"

/** A refused conditional write: 412, or 409 (a conflicting conditional write in flight). */
export const isPrecondition = (error: unknown): boolean => {
  const e = error as { readonly name?: string; readonly $metadata?: { httpStatusCode?: number } }
  const status = e?.$metadata?.httpStatusCode
  return (
    e?.name === "PreconditionFailed" || e?.name === "ConditionalRequestConflict" || status === 412 || status === 409
  )
}

/** The SDK's error as the port's `StoreError` of `operation` on `key`. */
export const toStoreError =
  (operation: string, key: string) =>
  (error: unknown): StoreError => {
    if (error instanceof StoreError) return error
    if (isPrecondition(error)) return new StoreError({ reason: "PreconditionFailed", operation, key, cause: error })
    return new StoreError({ reason: Retry.classify(error).reason, operation, key, cause: error })
  }

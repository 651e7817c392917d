/**
 * Reading a GetObject body interruptibly, with a size limit (the S3 backend's;
 * re-exported by `DocumentStore/S3.ts`).
 */
import type { Readable } from "node:stream"
import * as Effect from "effect/Effect"
import { StoreError } from "../DocumentStore.js"
import * as Retry from "../Retry.js"

/** Destroys a body stream, ignoring errors. */
export const destroy = (body: unknown) => {
  const stream = body as Partial<Readable> | undefined
  try {
    stream?.destroy?.()
  } catch {}
}

/** Over the size limit while reading. */
const tooLarge = (key: string, maxBytes: number) =>
  new StoreError({ reason: "TooLarge", operation: "GetObject", key, cause: `over the ${maxBytes}-byte limit` })

/** The body stream failed: a body cut off mid-way is a network failure, worth another attempt. */
const cutOff = (key: string, cause: Error) => {
  const { reason } = Retry.classify(cause)
  return new StoreError({ reason: reason === "Unknown" ? "Unavailable" : reason, operation: "GetObject", key, cause })
}

/** The attempt's signal aborted the read (the caller that aborted says why). */
const aborted = (key: string) =>
  new StoreError({ reason: "Unavailable", operation: "GetObject", key, cause: "the read was aborted" })

/** Not a Node stream (another runtime): the SDK mixin reads it; abort via the signal. */
const readMixin = (body: unknown, key: string): Effect.Effect<Uint8Array, StoreError> => {
  const mixin = body as { transformToByteArray?: () => Promise<Uint8Array> }
  return Effect.tryPromise({
    try: () => mixin.transformToByteArray?.() ?? Promise.resolve(new Uint8Array()),
    catch: (cause) => new StoreError({ reason: Retry.classify(cause).reason, operation: "GetObject", key, cause }),
  })
}

/** A Node stream read to its end under the limit; its listeners removed whatever ends the read. */
const readStream = (
  stream: Readable,
  maxBytes: number,
  key: string,
  signal: AbortSignal | undefined,
): Effect.Effect<Uint8Array, StoreError> =>
  Effect.async<Uint8Array, StoreError>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      size += buffer.byteLength
      if (size > maxBytes) {
        cleanup()
        stream.destroy()
        resume(Effect.fail(tooLarge(key, maxBytes)))
        return
      }
      chunks.push(buffer)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(new Uint8Array(Buffer.concat(chunks))))
    }
    const onError = (cause: Error) => {
      cleanup()
      resume(Effect.fail(cutOff(key, cause)))
    }
    const onAbort = () => {
      cleanup()
      stream.destroy()
      resume(Effect.fail(aborted(key)))
    }
    const cleanup = () => {
      stream.off("data", onData)
      stream.off("end", onEnd)
      stream.off("error", onError)
      signal?.removeEventListener("abort", onAbort)
    }
    if (signal?.aborted === true) {
      onAbort()
      return
    }
    stream.on("data", onData)
    stream.once("end", onEnd)
    stream.once("error", onError)
    signal?.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => {
      cleanup()
      stream.destroy()
    })
  })

/**
 * Reads a GetObject body interruptibly: on interruption the stream is destroyed
 * (which releases the socket); over `maxBytes` it fails with `TooLarge`. When
 * `signal` aborts (the attempt's time is up) the stream is destroyed and the
 * read fails (as `Unavailable`; the caller that aborted says why).
 * Exported for tests. The steps: `readStream` (a Node stream) or `readMixin`.
 */
export const readBody = (
  body: unknown,
  maxBytes: number,
  key: string,
  signal?: AbortSignal,
): Effect.Effect<Uint8Array, StoreError> => {
  const stream = body as Readable | undefined
  if (stream === undefined || stream === null) return Effect.succeed(new Uint8Array())
  if (typeof stream.on !== "function") return readMixin(body, key)
  return readStream(stream, maxBytes, key, signal)
}

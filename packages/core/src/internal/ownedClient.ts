/**
 * Docket's own SDK clients (the DynamoDB backend's and the S3 store's, built from a client
 * configuration, never a client a caller passed in): each command class's middleware stack is
 * resolved once and reused (the SDK's `cacheMiddleware`), and the fiber's abort signal still
 * reaches the HTTP request.
 *
 * Why: `client.send(command, options)` with any `options` resolves the whole middleware stack
 * again for that one call, and `cacheMiddleware` applies only to calls without `options`; every
 * Docket call passes `{ abortSignal }` (its attempt timeout and the fiber's interruption abort the
 * request). Measured over an in-process HTTP server, one GetItem: 527-547 us of CPU with
 * `{ abortSignal }` or no options on an ordinary client, 489 us on a client built here
 * (packages/bench/profiles.md, "The SDK's middleware cache").
 *
 * How: {@link own} replaces the client's `send` with one that runs a call whose only option is
 * `abortSignal` without options, with that signal in an `AsyncLocalStorage` for the call's
 * asynchronous span, and wraps the client's request handler so that each request takes the
 * signal of the call that made it. Any other call (other options, a callback) goes to the SDK's
 * `send` as it is. The cached stack shares one handler-execution context per command class; the
 * middleware that write to it per call (endpoint, auth scheme, user-agent features) write the
 * same values for every call of one client to one table or bucket.
 *
 * @internal
 */
import type { AsyncLocalStorage } from "node:async_hooks"

/**
 * The abort signal of the SDK call whose request is being sent, made with the first owned client:
 * `node:async_hooks` is not loaded at import (a static import of it loads two more of Node's
 * internal modules into a Lambda cold start).
 */
let callSignal: AsyncLocalStorage<AbortSignal> | undefined

/** What of the SDK's HTTP handler the clients use. */
interface HttpHandler {
  readonly metadata?: unknown
  handle(request: unknown, options?: Record<string, unknown>): Promise<unknown>
  updateHttpClientConfig?(key: never, value: never): void
  httpHandlerConfigs?(): unknown
  destroy?(): void
}

/** What of an SDK client {@link own} changes. */
interface Client {
  send(...args: Array<never>): unknown
  readonly config: { requestHandler?: unknown; cacheMiddleware?: boolean }
}

/** A request handler that gives each request the signal of its call (if it has none of its own). */
const signalled = (inner: HttpHandler): HttpHandler => ({
  metadata: inner.metadata,
  handle: (request, options) => {
    const signal = callSignal?.getStore()
    return inner.handle(
      request,
      signal === undefined || options?.abortSignal !== undefined ? options : { ...options, abortSignal: signal },
    )
  },
  updateHttpClientConfig: (key, value) => inner.updateHttpClientConfig?.(key, value),
  httpHandlerConfigs: () => inner.httpHandlerConfigs?.() ?? {},
  destroy: () => inner.destroy?.(),
})

const onlyAbortSignal = (options: unknown): options is { readonly abortSignal: AbortSignal } => {
  if (typeof options !== "object" || options === null) return false
  let keys = 0
  for (const key in options) {
    if (key !== "abortSignal") return false
    keys++
  }
  return keys === 1 && (options as { abortSignal?: unknown }).abortSignal !== undefined
}

/** Clients already owned: {@link own} is idempotent. */
const owned = new WeakSet<object>()

/**
 * Makes `client` one of Docket's own: built with `cacheMiddleware: true` (the caller's
 * configuration may turn it off), its `send(command, { abortSignal })` runs on the cached stack
 * and its requests take that signal. Returns the same client.
 */
export const own = <C extends object>(client: C): C => {
  const c = client as unknown as Client
  if (owned.has(c)) return client
  owned.add(c)
  const handler = c.config.requestHandler as HttpHandler | undefined
  if (handler === undefined || typeof handler.handle !== "function") return client
  callSignal ??= new (process.getBuiltinModule("node:async_hooks").AsyncLocalStorage)<AbortSignal>()
  const signals = callSignal
  c.config.requestHandler = signalled(handler)
  const send = c.send.bind(c) as (...args: Array<unknown>) => unknown
  ;(c as { send: unknown }).send = (command: unknown, optionsOrCallback?: unknown, callback?: unknown) =>
    callback === undefined && onlyAbortSignal(optionsOrCallback)
      ? signals.run(optionsOrCallback.abortSignal, send, command)
      : send(command, optionsOrCallback, callback)
  return client
}

/** Whether `client` is one of Docket's own (for tests and diagnostics). */
export const isOwned = (client: object): boolean => owned.has(client)

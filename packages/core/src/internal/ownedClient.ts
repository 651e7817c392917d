/**
 * Docket's own SDK clients (the DynamoDB backend's and the S3 store's, built from a client
 * configuration, never a client a caller passed in): each command class's middleware stack is
 * resolved once and reused (the SDK's `cacheMiddleware`), and the fiber's abort signal still
 * reaches the HTTP request.
 *
 * Why: `client.send(command, options)` with any `options` resolves the whole middleware stack
 * again for that one call, and `cacheMiddleware` applies only to calls without `options`; every
 * Docket call passes `{ abortSignal }` (its attempt timeout and the fiber's interruption abort the
 * request). Measured over an in-process HTTP server, one GetItem: 470.8 us of CPU with
 * `{ abortSignal }` on an ordinary client, 433.3 us on a client owned here
 * (packages/bench/profiles.md, "The SDK's middleware cache, taken").
 *
 * How: {@link own} replaces the client's `send` with one that runs a call whose only option is
 * `abortSignal` without options, with that signal in an `AsyncLocalStorage` for the call's
 * asynchronous span; a middleware of the client's own stack, at its last step, ties the signed
 * request to that signal, and a wrapper of the client's request handler gives it to that request
 * only. Any other call (other options, a callback, none) goes to the SDK's `send` as it is,
 * outside every call's signal. The cached stack shares one handler-execution context per command
 * class; the middleware that write to it per call (endpoint, auth scheme, user-agent features)
 * write the same values for every call of one client to one table or bucket (reviewed against the
 * SDK version in the lockfile, packages/bench/profiles.md). A client with `followRegionRedirects`
 * keeps its per-call stacks (its redirect state lives in that context); a legacy (v1) retry
 * strategy in a user's configuration would append to the shared context's user agent per call.
 *
 * @internal
 */
import type { AsyncLocalStorage } from "node:async_hooks"

/**
 * The abort signal of the owned client's call in progress, made with the first owned client:
 * `node:async_hooks` is not loaded at import (a static import of it loads two more of Node's
 * internal modules into a Lambda cold start).
 */
let callSignal: AsyncLocalStorage<AbortSignal> | undefined

/**
 * The signal of each request an owned client's call sends, set by a middleware of that client at
 * its last step: only its own calls' requests carry one. Requests that share the request handler
 * without being its calls' (the STS or SSO clients a credential provider builds from the client's
 * configuration; a credential refresh started inside one call is shared by every call waiting on
 * it) get none, so one call's abort never fails another's.
 */
const requestSignals = new WeakMap<object, AbortSignal>()

/** What of the SDK's HTTP handler the clients use. */
interface HttpHandler {
  readonly metadata?: unknown
  handle(request: object, options?: Record<string, unknown>): Promise<unknown>
  updateHttpClientConfig?(key: never, value: never): void
  httpHandlerConfigs?(): unknown
  destroy?(): void
}

/** What of an SDK client {@link own} changes. */
interface Client {
  send(...args: Array<never>): unknown
  readonly config: { requestHandler?: unknown; cacheMiddleware?: boolean }
  readonly middlewareStack: {
    add(
      middleware: (next: (args: { request?: unknown }) => unknown) => (args: { request?: unknown }) => unknown,
      options: { step: "deserialize"; priority: "low"; name: string },
    ): void
  }
}

/** A request handler that gives each of an owned call's requests its call's signal (unless it has one). */
const signalled = (inner: HttpHandler): HttpHandler => ({
  metadata: inner.metadata,
  handle: (request, options) => {
    const signal = requestSignals.get(request)
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
 * Makes `client` one of Docket's own: `cacheMiddleware` on unless its configuration turned it
 * off (or set `followRegionRedirects`), its `send(command, { abortSignal })` runs on the cached stack
 * and its requests take that signal; any other `send` (other options, a callback, or none, as the
 * SDK's own S3 `CreateSession` inside a call) runs outside every call's signal. Returns the same
 * client.
 */
export const own = <C extends object>(client: C): C => {
  const c = client as unknown as Client
  const handler = c.config.requestHandler as HttpHandler | undefined
  if (owned.has(c) || handler === undefined || typeof handler.handle !== "function") return client
  owned.add(c)
  // The cached stack unless the configuration said otherwise; never with S3's region redirect,
  // which keeps per-call state in the handler-execution context the cached stack shares.
  const config = c.config as { cacheMiddleware?: boolean; followRegionRedirects?: boolean }
  if (config.followRegionRedirects === true) config.cacheMiddleware = false
  else config.cacheMiddleware ??= true
  callSignal ??= new (process.getBuiltinModule("node:async_hooks").AsyncLocalStorage)<AbortSignal>()
  const signals = callSignal
  c.config.requestHandler = signalled(handler)
  // The last step before the request handler: `args.request` is the request as signed and sent.
  c.middlewareStack.add(
    (next) => (args) => {
      const signal = signals.getStore()
      if (signal !== undefined && typeof args.request === "object" && args.request !== null)
        requestSignals.set(args.request, signal)
      return next(args)
    },
    { step: "deserialize", priority: "low", name: "docketCallSignal" },
  )
  const send = c.send.bind(c) as (...args: Array<unknown>) => unknown
  ;(c as { send: unknown }).send = (command: unknown, optionsOrCallback?: unknown, callback?: unknown) =>
    callback === undefined && onlyAbortSignal(optionsOrCallback)
      ? signals.run(optionsOrCallback.abortSignal, send, command)
      : signals.exit(send, command, optionsOrCallback, callback)
  return client
}

/** Whether `client` is one of Docket's own (for tests and diagnostics). */
export const isOwned = (client: object): boolean => owned.has(client)

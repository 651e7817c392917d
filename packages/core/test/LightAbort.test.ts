import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb"
import { S3Client } from "@aws-sdk/client-s3"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as DynamoDB from "../src/DocumentCache/DynamoDB.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3 from "../src/DocumentStore/S3.js"
import { LightController, type LightSignal } from "../src/internal/abort.js"
import { isOwned, own } from "../src/internal/ownedClient.js"
import * as RateLimit from "../src/RateLimit.js"
import { change } from "./DocumentCache.contract.js"

describe("LightController", () => {
  it("abort sets aborted and an AbortError reason, and calls onabort and each listener once", () => {
    const controller = new LightController()
    const signal = controller.signal
    const calls: Array<string> = []
    const removed = () => calls.push("removed")
    signal.onabort = (event) => calls.push(`onabort ${event.type}`)
    signal.addEventListener("abort", (event) => calls.push(`listener ${event.type} ${event.target === signal}`))
    signal.addEventListener("abort", { handleEvent: () => calls.push("handleEvent") })
    signal.addEventListener("abort", removed)
    signal.removeEventListener("abort", removed)
    expect(signal.aborted).toBe(false)
    expect(() => signal.throwIfAborted()).not.toThrow()
    controller.abort()
    controller.abort()
    expect(calls).toEqual(["onabort abort", "listener abort true", "handleEvent"])
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBeInstanceOf(DOMException)
    expect((signal.reason as DOMException).name).toBe("AbortError")
    expect(() => signal.throwIfAborted()).toThrow(signal.reason as Error)
    // Nothing is kept once aborted, and a listener added afterwards is never called (as EventTarget).
    expect(signal.listeners).toBeUndefined()
    signal.addEventListener("abort", () => calls.push("late"))
    expect(signal.listeners).toBeUndefined()
  })

  it("abort keeps the reason it is given; a throwing listener does not stop the others", async () => {
    const controller = new LightController()
    const calls: Array<string> = []
    const uncaught: Array<unknown> = []
    const onUncaught = (error: unknown) => uncaught.push(error)
    const listeners = process.listeners("uncaughtException")
    process.removeAllListeners("uncaughtException")
    process.on("uncaughtException", onUncaught)
    try {
      controller.signal.addEventListener("abort", () => {
        throw new Error("boom")
      })
      controller.signal.addEventListener("abort", () => calls.push("second"))
      controller.abort("why")
      await new Promise((resolve) => setTimeout(resolve, 10))
    } finally {
      process.off("uncaughtException", onUncaught)
      for (const listener of listeners) process.on("uncaughtException", listener)
    }
    expect(controller.signal.reason).toBe("why")
    expect(calls).toEqual(["second"])
    expect(uncaught).toHaveLength(1)
  })
})

/**
 * An HTTP server standing in for DynamoDB or S3: `answer` says what to do with each request: answer
 * it (`{}`), hang, or (`"stall"`) send the headers and part of a body, then hang.
 */
const server = (answer: () => boolean | "stall") =>
  Effect.acquireRelease(
    Effect.async<{ server: Server; port: number; requests: Array<IncomingMessage>; closed: Array<number> }>(
      (resume) => {
        const requests: Array<IncomingMessage> = []
        const closed: Array<number> = []
        const s = createServer((request: IncomingMessage, response: ServerResponse) => {
          const index = requests.push(request) - 1
          request.socket.on("close", () => closed.push(index))
          request.resume()
          request.on("end", () => {
            const what = answer()
            if (what === "stall") {
              response.writeHead(200, { "content-type": "application/json", "content-length": "1000", etag: '"e"' })
              response.write('{"kind":')
              return
            }
            if (!what) return
            response.writeHead(200, { "content-type": "application/x-amz-json-1.0" })
            response.end("{}")
          })
        })
        s.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed({ server: s, port: (s.address() as AddressInfo).port, requests, closed })),
        )
      },
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }),
  )

/** The DynamoDB backend over a real SDK client (its Node HTTP handler) at `port`, recording each attempt's signal. */
const backend = (port: number, attemptTimeout: Duration.DurationInput) =>
  Effect.gen(function* () {
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
    const signals: Array<LightSignal> = []
    const send = client.send.bind(client) as (command: unknown, options?: { abortSignal?: unknown }) => Promise<unknown>
    ;(client as { send: unknown }).send = (command: unknown, options?: { abortSignal?: unknown }) => {
      signals.push(options?.abortSignal as LightSignal)
      return send(command, options)
    }
    const cache = yield* DynamoDB.make(client, {
      table: "t",
      retentionDays: 30,
      attemptTimeout,
      retry: { maxAttempts: 1, base: "1 millis", cap: "1 millis" },
      documentsOnly: true,
    }).pipe(Effect.provide(DocumentKind.layerDefault), Effect.provide(RateLimit.layerUnlimited))
    return { cache, signals }
  })

/** The DynamoDB backend on its own client (`DynamoDB.layer`: cached middleware, the signal through the request handler). */
const ownedBackend = (port: number, attemptTimeout: Duration.DurationInput) =>
  Layer.build(
    DynamoDB.layer({
      table: "t",
      retentionDays: 30,
      attemptTimeout,
      retry: { maxAttempts: 1, base: "1 millis", cap: "1 millis" },
      documentsOnly: true,
      client: {
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      },
    }).pipe(Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited))),
  ).pipe(Effect.map((context) => ({ cache: Context.get(context, DocumentCache.DocumentCache), signals: undefined })))

const eventually = (check: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !check(); i++) yield* Effect.sleep("10 millis")
    expect(check()).toBe(true)
  })

describe("DynamoDB attempts on the light abort controller (a real SDK client and HTTP server)", () => {
  it.live(
    "an answered attempt leaves no listener on its signal",
    () =>
      Effect.gen(function* () {
        const { port } = yield* server(() => true)
        const { cache, signals } = yield* backend(port, "5 seconds")
        for (let i = 0; i < 3; i++) expect((yield* cache.get("change", `CHG-light-${i}`))._tag).toBe("None")
        expect(signals).toHaveLength(3)
        // The SDK adds its listeners per request and removes them when the request closes.
        yield* eventually(() => signals.every((s) => (s.listeners ?? []).length === 0))
        expect(signals.every((s) => !s.aborted)).toBe(true)
      }).pipe(Effect.scoped),
    10_000,
  )
})

/**
 * A hung or interrupted attempt, on a client passed in (its signal in `send`'s options, each one recorded) and
 * on Docket's own (cached middleware stack, the signal through the request handler; not observable from outside).
 */
const backends = [
  { name: "a client passed in (DynamoDB.make)", make: backend },
  { name: "Docket's own client (DynamoDB.layer)", make: ownedBackend },
] as const

for (const { name, make } of backends) {
  describe(`DynamoDB attempts on ${name}, a real SDK client and HTTP server`, () => {
    it.live(
      "an attempt past its timeout is aborted: the SDK destroys the request and the call fails as Timeout",
      () =>
        Effect.gen(function* () {
          const { port, requests, closed } = yield* server(() => false)
          const { cache, signals } = yield* make(port, "200 millis")
          const error = yield* Effect.flip(cache.get("change", "CHG-light-hung"))
          expect(error.reason).toBe("Timeout")
          expect(String(error.cause)).toContain("no answer within 200 ms")
          expect(requests).toHaveLength(1)
          yield* eventually(() => closed.includes(0))
          if (signals !== undefined) {
            expect(signals[0]?.aborted).toBe(true)
            expect(signals[0]?.listeners).toBeUndefined()
          }
        }).pipe(Effect.scoped),
      10_000,
    )

    it.live(
      "interrupting the fiber aborts the attempt's request",
      () =>
        Effect.gen(function* () {
          const { port, requests, closed } = yield* server(() => false)
          const { cache, signals } = yield* make(port, "30 seconds")
          const fiber = yield* Effect.fork(cache.get("change", "CHG-light-interrupted"))
          yield* eventually(() => requests.length === 1)
          yield* Fiber.interrupt(fiber)
          yield* eventually(() => closed.includes(0))
          if (signals !== undefined) expect(signals[0]?.aborted).toBe(true)
        }).pipe(Effect.scoped),
      10_000,
    )
  })
}

/** The S3 store over a real SDK client at `port`. */
const store = (port: number) =>
  S3.make({
    bucket: "b",
    clientConfig: {
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    },
    attemptTimeout: "200 millis",
    retry: { maxAttempts: 1, base: "1 millis", cap: "1 millis" },
    documentsOnly: true,
  }).pipe(Effect.provide(DocumentKind.layerDefault))

describe("S3 attempts on the light abort controller (a real SDK client and HTTP server)", () => {
  it.live(
    "a put past its attempt timeout is aborted: the request is destroyed and the put fails as Timeout",
    () =>
      Effect.gen(function* () {
        const { port, requests, closed } = yield* server(() => false)
        const s3 = yield* store(port)
        const error = yield* Effect.flip(s3.put(change("light-put", 1, ["acme"], "2026-06-01T00:00:00Z")))
        expect(error).toMatchObject({ _tag: "StoreError", reason: "Timeout", operation: "PutObject" })
        expect(requests).toHaveLength(1)
        yield* eventually(() => closed.includes(0))
      }).pipe(Effect.scoped),
    10_000,
  )

  it.live(
    "a body that stalls is cut off at the attempt timeout: the read fails and its connection is closed",
    () =>
      Effect.gen(function* () {
        const { port, requests, closed } = yield* server(() => "stall")
        const s3 = yield* store(port)
        const error = yield* Effect.flip(s3.get("change", "CHG-light-stall"))
        expect(error).toMatchObject({ _tag: "StoreError", reason: "Timeout", operation: "GetObject" })
        expect(requests).toHaveLength(1)
        yield* eventually(() => closed.includes(0))
      }).pipe(Effect.scoped),
    10_000,
  )
})

describe("DynamoDB attempts on Docket's own client (cached middleware stack, signal through the request handler)", () => {
  it.live(
    "concurrent calls resolve the middleware stack once per command class, and only the aborted one is cut off",
    () =>
      Effect.gen(function* () {
        let calls = 0
        const { port, requests, closed } = yield* server(() => {
          calls++
          return calls !== 3
        })
        const resolve = GetItemCommand.prototype.resolveMiddleware
        let resolved = 0
        GetItemCommand.prototype.resolveMiddleware = function (this: GetItemCommand, ...args) {
          resolved++
          return resolve.apply(this, args)
        }
        yield* Effect.addFinalizer(() => Effect.sync(() => (GetItemCommand.prototype.resolveMiddleware = resolve)))
        const { cache } = yield* ownedBackend(port, "300 millis")
        const results = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) => Effect.either(cache.get("change", `CHG-owned-${i}`)),
          { concurrency: 8 },
        )
        expect(requests).toHaveLength(8)
        expect(resolved).toBe(1)
        const failed = results.filter((r) => r._tag === "Left")
        expect(failed).toHaveLength(1)
        expect(failed[0]?._tag === "Left" && failed[0].left.reason).toBe("Timeout")
        // The hung request (the third answered by the server) was destroyed; the others kept their sockets.
        yield* eventually(() => closed.length === 1)
        expect(closed).toEqual([2])
        expect(
          results.filter((r) => r._tag === "Right").every((r) => r._tag === "Right" && r.right._tag === "None"),
        ).toBe(true)
      }).pipe(Effect.scoped),
    10_000,
  )

  it("a client Docket does not own keeps the SDK's send; owning is idempotent", () => {
    const client = new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } })
    const send = client.send
    expect(isOwned(client)).toBe(false)
    own(client)
    const ownedSend = client.send
    expect(ownedSend).not.toBe(send)
    own(client)
    expect(client.send).toBe(ownedSend)
    expect(isOwned(client)).toBe(true)
    client.destroy()
    // S3's region redirect keeps per-call state in the handler-execution context: no cached stack for it.
    const redirecting = own(new S3Client({ region: "us-east-1", cacheMiddleware: true, followRegionRedirects: true }))
    expect(redirecting.config.cacheMiddleware).toBe(false)
    expect(own(new S3Client({ region: "us-east-1", cacheMiddleware: true })).config.cacheMiddleware).toBe(true)
    // Owning turns the cache on unless the configuration turned it off.
    expect(own(new S3Client({ region: "us-east-1" })).config.cacheMiddleware).toBe(true)
    expect(own(new S3Client({ region: "us-east-1", cacheMiddleware: false })).config.cacheMiddleware).toBe(false)
    redirecting.destroy()
  })
})

describe("an owned client's signal reaches its own calls' requests only", () => {
  it("a request another client sends through the shared handler (as a credential provider's STS client) or an option-less send of the same client (as S3's CreateSession), inside an owned call, gets no signal", async () => {
    const seen: Array<{ table: string; signal: unknown }> = []
    const inner: { send?: (() => Promise<unknown>) | undefined } = {}
    const spy = {
      metadata: { handlerProtocol: "http/1.1" },
      handle: async (request: { body?: unknown }, options?: { abortSignal?: unknown }) => {
        const table = (JSON.parse(String(request.body)) as { TableName: string }).TableName
        seen.push({ table, signal: options?.abortSignal })
        // Inside the owned call's request: what the SDK does on its own (a credential refresh, a session).
        if (table === "owned") await inner.send?.()
        return {
          response: {
            statusCode: 200,
            headers: { "content-type": "application/x-amz-json-1.0" },
            body: Buffer.from("{}"),
          },
        }
      },
      updateHttpClientConfig: () => {},
      httpHandlerConfigs: () => ({}),
      destroy: () => {},
    }
    const config = {
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      maxAttempts: 1,
    }
    const client = own(new DynamoDBClient({ ...config, cacheMiddleware: true, requestHandler: spy as never }))
    // A client on the owned client's (wrapped) request handler, as the SDK's STS and SSO clients are built.
    const sharing = new DynamoDBClient({ ...config, requestHandler: client.config.requestHandler })
    const key = { pk: { S: "D#change#CHG-1" }, sk: { S: "DOC" } }
    inner.send = async () => {
      await sharing.send(new GetItemCommand({ TableName: "sharing", Key: key }))
      await client.send(new GetItemCommand({ TableName: "optionless", Key: key }))
    }
    const controller = new AbortController()
    await client.send(new GetItemCommand({ TableName: "owned", Key: key }), { abortSignal: controller.signal })
    expect(seen.map((s) => s.table)).toEqual(["owned", "sharing", "optionless"])
    expect(seen[0]?.signal).toBe(controller.signal)
    expect(seen[1]?.signal).toBeUndefined()
    expect(seen[2]?.signal).toBeUndefined()
    // Outside any call, a send with only a signal still gets it, on the cached stack.
    const second = new AbortController()
    inner.send = undefined
    await client.send(new GetItemCommand({ TableName: "owned", Key: key }), { abortSignal: second.signal })
    expect(seen[3]?.signal).toBe(second.signal)
    client.destroy()
    sharing.destroy()
  })
})

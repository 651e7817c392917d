import { type AddressInfo, createServer, type Socket } from "node:net"
import { type BatchGetItemCommandInput, type BatchGetItemCommandOutput, DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DocketConfig from "../src/DocketConfig.js"
import type * as Document from "../src/Document.js"
import * as DynamoDB from "../src/DocumentCache/DynamoDB.js"
import { DocumentCache, type PutOptions } from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as RateLimit from "../src/RateLimit.js"
import { bulkContract } from "./DocumentCache.bulk.contract.js"
import { change, contract } from "./DocumentCache.contract.js"
import { protocolContract } from "./DocumentCache.protocol.js"

contract("DynamoDB Local", (options) =>
  Layer.unwrapEffect(
    Effect.promise(() => Testing.isolated("cache-contract")).pipe(
      Effect.map(({ table, clientConfig }) =>
        DynamoDB.layer({ table, ...options, client: clientConfig.dynamodb }).pipe(
          Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
        ),
      ),
    ),
  ),
)

protocolContract("DynamoDB Local", (options) =>
  Layer.unwrapEffect(
    Effect.promise(() => Testing.isolated("cache-protocol")).pipe(
      Effect.map(({ table, clientConfig }) =>
        DynamoDB.layer({ table, ...options, client: clientConfig.dynamodb }).pipe(
          Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
        ),
      ),
    ),
  ),
)

bulkContract("DynamoDB Local", (options) =>
  Layer.unwrapEffect(
    Effect.promise(() => Testing.isolated("cache-bulk")).pipe(
      Effect.map(({ table, clientConfig }) =>
        DynamoDB.layer({ table, ...options, client: clientConfig.dynamodb }).pipe(
          Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
        ),
      ),
    ),
  ),
)

describe("DynamoDB cache creates (first attempt without a read)", () => {
  const fresh = Layer.unwrapEffect(
    Effect.promise(() => Testing.isolated("cache-create")).pipe(
      Effect.map(({ table, clientConfig }) =>
        DynamoDB.layer({ table, retentionDays: 36500, client: clientConfig.dynamodb }).pipe(
          Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
        ),
      ),
    ),
  )
  const put = (doc: Document.AnyDocument, options: Partial<PutOptions> = {}) =>
    Effect.flatMap(DocumentCache, (cache) => cache.put(doc, { s3Key: `changes/${doc.id}.json`, ...options }))

  it.live("a version-1 put or an Absent refill that finds an item is decided on that item, never written over it", () =>
    Effect.gen(function* () {
      const cache = yield* DocumentCache
      const v1 = change("create", 1, ["acme", "globex"], "2026-06-20T10:00:00Z")
      yield* cache.tombstone("change", v1.id, { ttlSeconds: 600, sequencer: "0A" })
      const written = yield* put(v1)
      expect(written._tag).toBe("Written")
      expect(written._tag === "Written" && Option.map(written.previous, (e) => e._tag)).toStrictEqual(
        Option.some("Tombstone"),
      )
      expect((yield* put(v1))._tag).toBe("Unchanged")
      expect(yield* Effect.flip(put({ ...v1, title: "Other" }))).toMatchObject({
        _tag: "StaleWriteError",
        reason: "SameVersionDifferentContent",
      })
      const v2 = { ...v1, version: 2, customers: ["acme"] }
      expect((yield* put(v2))._tag).toBe("Written")
      expect(yield* Effect.flip(put(v1))).toMatchObject({ _tag: "StaleWriteError", reason: "OlderVersion" })
      expect(yield* Effect.flip(put({ ...v2, version: 3 }, { condition: { _tag: "Absent" } }))).toMatchObject({
        _tag: "ConditionFailedError",
      })
      const got = yield* cache.get("change", v1.id)
      expect(Option.isSome(got) && got.value._tag === "Cached" && got.value.document).toStrictEqual(v2)
      const globex = yield* Stream.runCollect(
        cache.query({
          target: { _tag: "Customer", customer: "globex" },
          from: "2026-06-01T00:00:00Z",
          to: "2026-07-01T00:00:00Z",
        }),
      )
      expect(Chunk.size(globex)).toBe(0)
    }).pipe(Effect.provide(fresh)),
  )
})

describe("DynamoDB cache fingerprints (BatchGetItem)", () => {
  it.live("keys DynamoDB returns unprocessed are asked again until every ref is answered", () =>
    Effect.gen(function* () {
      const { table, clientConfig } = yield* Effect.promise(() => Testing.isolated("cache-unprocessed"))
      const client = new DynamoDBClient({ ...clientConfig.dynamodb, maxAttempts: 1 })
      let calls = 0
      // Answers only the first 30 keys of each of the first three batches and hands the rest back unprocessed.
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args)
          if (context.commandName !== "BatchGetItemCommand") return out
          calls++
          const output = out.output as BatchGetItemCommandOutput
          const items = output.Responses?.[table] ?? []
          if (calls <= 3 && items.length > 30) {
            const input = args.input as BatchGetItemCommandInput
            const request = input.RequestItems?.[table]
            const kept = items.slice(0, 30)
            const keptPks = new Set(kept.map((item) => item.pk?.S))
            output.Responses = { [table]: kept }
            output.UnprocessedKeys = {
              [table]: { ...request, Keys: (request?.Keys ?? []).filter((key) => !keptPks.has(key.pk?.S)) },
            }
          }
          return out
        },
        { step: "initialize", name: "fakeUnprocessedKeys" },
      )
      const cache = yield* DynamoDB.make(client, { table, retentionDays: 36500 }).pipe(
        Effect.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
      )
      const docs = Array.from({ length: 150 }, (_, i) => change(`u${i}`, 1, ["acme"], "2026-06-20T10:00:00Z"))
      yield* Effect.forEach(docs, (d) => cache.put(d, { s3Key: `changes/${d.id}.json`, etag: `"${d.id}"` }), {
        concurrency: 8,
      })
      calls = 0
      const found = yield* cache.fingerprints(docs.map((d) => ({ kind: d.kind, id: d.id })))
      client.destroy()
      expect(found.map((f) => f.id).sort()).toStrictEqual(docs.map((d) => d.id).sort())
      expect(found.every((f) => f.etag === `"${f.id}"`)).toBe(true)
      // Two batches (100 + 50), each answered in parts: more requests than batches.
      expect(calls).toBeGreaterThan(2)
    }),
  )
})

describe("DynamoDB cache attempts (a connection that never answers)", () => {
  it.live(
    "each attempt is aborted after attemptTimeout and retried; the operation fails as a Timeout naming the key",
    () =>
      Effect.gen(function* () {
        // Accepts every connection and reads the request, never answers: a hung endpoint.
        const requests: Array<number> = []
        const sockets = new Set<Socket>()
        const server = createServer((socket) => {
          sockets.add(socket)
          requests.push(Date.now())
          socket.on("data", () => {})
          socket.on("close", () => sockets.delete(socket))
        })
        const port = yield* Effect.promise(
          () =>
            new Promise<number>((resolve) =>
              server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
            ),
        )
        yield* Effect.addFinalizer(() =>
          Effect.promise(
            () =>
              new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy()
                server.close(() => resolve())
              }),
          ),
        )
        // Through DocketConfig, as the CLI and the Lambda build it: DOCKET_ATTEMPT_TIMEOUT and DOCKET_MAX_ATTEMPTS.
        const settings = yield* DocketConfig.config.pipe(
          Effect.withConfigProvider(
            ConfigProvider.fromMap(
              new Map([
                ["DOCKET_BUCKET", "unused"],
                ["DOCKET_TABLE", "never-answers"],
                ["AWS_REGION", "eu-west-1"],
                ["DOCKET_DYNAMODB_ENDPOINT", `http://127.0.0.1:${port}`],
                ["DOCKET_ATTEMPT_TIMEOUT", "300"],
                ["DOCKET_MAX_ATTEMPTS", "3"],
              ]),
            ),
          ),
        )
        expect(settings.attemptTimeoutMillis).toBe(300)
        const hung = DynamoDB.layerConfig.pipe(
          Layer.provide(
            Layer.mergeAll(DocumentKind.layerDefault, RateLimit.layerUnlimited, DocketConfig.layer(settings)),
          ),
        )
        process.env.AWS_ACCESS_KEY_ID ??= "test"
        process.env.AWS_SECRET_ACCESS_KEY ??= "test"
        const error = yield* Effect.flatMap(DocumentCache, (cache) => cache.get("change", "CHG-hung-1")).pipe(
          Effect.provide(hung),
          Effect.flip,
        )
        if (error._tag !== "CacheError") return yield* Effect.die(error) // a ConfigError: the settings were read above
        expect(error.reason).toBe("Timeout")
        expect(error.key).toBe("change/CHG-hung-1")
        expect(String(error.cause)).toContain("no answer within 300 ms")
        // Three attempts, each on its own connection: every timed-out request was aborted (its socket closed).
        expect(requests).toHaveLength(3)
      }).pipe(Effect.scoped),
    30_000,
  )

  it("DOCKET_ATTEMPT_TIMEOUT defaults to 30 s and must be at least 1 ms", () => {
    const read = (entries: ReadonlyArray<readonly [string, string]>) =>
      Effect.runSync(
        DocketConfig.config.pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DOCKET_BUCKET", "b"], ...entries]))),
          Effect.either,
        ),
      )
    expect(read([])).toMatchObject({ _tag: "Right", right: { attemptTimeoutMillis: 30_000 } })
    const zero = read([["DOCKET_ATTEMPT_TIMEOUT", "0"]])
    expect(zero._tag).toBe("Left")
    expect(String(zero._tag === "Left" ? zero.left : "")).toContain("DOCKET_ATTEMPT_TIMEOUT must be")
  })
})

describe("DynamoDB cache query log (one partition, first page read up front)", () => {
  const layerFor = (table: string, dynamodb: Testing.Isolated["clientConfig"]["dynamodb"]) =>
    DynamoDB.layer({ table, retentionDays: 36500, client: { ...dynamodb, maxAttempts: 1 } }).pipe(
      Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
    )
  const captured = () => {
    const lines: Array<{ message: string; level: string; annotations: Record<string, unknown> }> = []
    const logger = Logger.make(({ message, logLevel, annotations }) => {
      lines.push({
        message: String(Array.isArray(message) ? message[0] : message),
        level: logLevel.label,
        annotations: Object.fromEntries(HashMap.toEntries(annotations)),
      })
    })
    return {
      lines,
      layer: Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.Debug)),
    }
  }
  const customer = {
    target: { _tag: "Customer", customer: "acme" },
    from: "2026-06-01T00:00:00Z",
    to: "2026-07-01T00:00:00Z",
  } as const

  it.live("a one-page result is logged once with its item count; a failing first page ends the stream, logged", () =>
    Effect.gen(function* () {
      const { table, clientConfig } = yield* Effect.promise(() => Testing.isolated("cache-query-log"))
      const ok = captured()
      const items = yield* Effect.gen(function* () {
        const cache = yield* DocumentCache
        yield* cache.put(change("a", 1, ["acme"], "2026-06-10T10:00:00Z"), { s3Key: "changes/a.json" })
        yield* cache.put(change("b", 1, ["acme"], "2026-06-11T10:00:00Z"), { s3Key: "changes/b.json" })
        return yield* Stream.runCollect(cache.query(customer))
      }).pipe(Effect.provide(Layer.merge(layerFor(table, clientConfig.dynamodb), ok.layer)))
      expect(Chunk.toArray(items).map((s) => s.id)).toEqual(["CHG-a", "CHG-b"])
      const okLines = ok.lines.filter((l) => l.message === "cache.query")
      expect(okLines.map((l) => [l.level, l.annotations.outcome, l.annotations.items])).toEqual([["DEBUG", "ok", 2]])

      const bad = captured()
      const failure = yield* Effect.flatMap(DocumentCache, (cache) =>
        Effect.flip(Stream.runCollect(cache.query(customer))),
      ).pipe(Effect.provide(Layer.merge(layerFor(`${table}-missing`, clientConfig.dynamodb), bad.layer)))
      expect(failure._tag).toBe("CacheError")
      const badLines = bad.lines.filter((l) => l.message === "cache.query")
      expect(badLines.map((l) => [l.level, l.annotations.items])).toEqual([["WARN", 0]])
      expect(badLines[0]?.annotations.outcome).not.toBe("ok")
    }),
  )
})

describe("DynamoDB cache put log (a step of an operation with its own line)", () => {
  it.live("a put with step logs its success at debug, any other put at info; a step's failure still warns", () =>
    Effect.gen(function* () {
      const { table, clientConfig } = yield* Effect.promise(() => Testing.isolated("cache-put-log"))
      const lines: Array<[string, string, unknown]> = []
      const logger = Logger.make(({ message, logLevel, annotations }) => {
        const text = String(Array.isArray(message) ? message[0] : message)
        if (text === "cache.put")
          lines.push([
            logLevel.label,
            String(HashMap.get(annotations, "key").pipe(Option.getOrUndefined)),
            HashMap.get(annotations, "outcome").pipe(Option.getOrUndefined),
          ])
      })
      yield* Effect.gen(function* () {
        const cache = yield* DocumentCache
        yield* cache.put(change("step", 1, ["acme"], "2026-06-10T10:00:00Z"), {
          s3Key: "changes/step.json",
          step: true,
        })
        yield* cache.put(change("plain", 1, ["acme"], "2026-06-10T10:00:00Z"), { s3Key: "changes/plain.json" })
        // Over the existing item with an Absent condition: the step fails, and says so.
        yield* Effect.flip(
          cache.put(change("step", 2, ["acme"], "2026-06-10T10:00:00Z"), {
            s3Key: "changes/step.json",
            condition: { _tag: "Absent" },
            step: true,
          }),
        )
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            DynamoDB.layer({ table, retentionDays: 36500, client: { ...clientConfig.dynamodb, maxAttempts: 1 } }).pipe(
              Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
            ),
            Logger.replace(Logger.defaultLogger, logger),
            Logger.minimumLogLevel(LogLevel.Debug),
          ),
        ),
      )
      expect(lines).toEqual([
        ["DEBUG", "change/CHG-step", "Written"],
        ["INFO", "change/CHG-plain", "Written"],
        ["WARN", "change/CHG-step", "ConditionFailedError"],
      ])
    }),
  )
})

describe("DynamoDB consumed capacity (DOCKET_CONSUMED_CAPACITY)", () => {
  const run = (table: string, dynamodb: Testing.Isolated["clientConfig"]["dynamodb"], consumedCapacity?: boolean) =>
    Effect.gen(function* () {
      const client = new DynamoDBClient({ ...dynamodb, maxAttempts: 1 })
      // What each request asked for, as the SDK serialises it.
      const asked: Array<[string, unknown]> = []
      client.middlewareStack.add(
        (next, context) => async (args) => {
          asked.push([
            String(context.commandName),
            (args.input as { ReturnConsumedCapacity?: unknown }).ReturnConsumedCapacity,
          ])
          return next(args)
        },
        { step: "initialize", name: "recordCapacityParameter" },
      )
      const lines: Array<[string, Record<string, unknown>]> = []
      const logger = Logger.make(({ message, annotations }) => {
        lines.push([
          String(Array.isArray(message) ? message[0] : message),
          Object.fromEntries(HashMap.toEntries(annotations)),
        ])
      })
      const cache = yield* DynamoDB.make(client, {
        table,
        retentionDays: 36500,
        ...(consumedCapacity === undefined ? {} : { consumedCapacity }),
      }).pipe(Effect.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)))
      const doc = change(`cap-${consumedCapacity}`, 1, ["acme"], "2026-06-20T10:00:00Z")
      yield* Effect.gen(function* () {
        yield* cache.put(doc, { s3Key: `changes/${doc.id}.json` })
        yield* cache.get("change", doc.id)
        yield* Stream.runDrain(
          cache.query({
            target: { _tag: "Customer", customer: "acme" },
            from: "2026-06-01T00:00:00Z",
            to: "2026-07-01T00:00:00Z",
          }),
        )
        yield* cache.fingerprints([{ kind: "change", id: doc.id }])
        // The write protocol's requests: an intent (UpdateItem), its commit (a transaction), an intent cleared.
        const v2 = { ...doc, version: 2 }
        const intent = (d: Document.AnyDocument, writer: string) =>
          cache.intend({
            kind: d.kind,
            id: d.id,
            writer,
            s3Key: `changes/${d.id}.json`,
            leaseExpiresAt: Date.now() + 60_000,
            change: { _tag: "Put", document: d, etag: DocumentStore.expectedEtag(d) },
          })
        const recorded = yield* intent(v2, "w1")
        yield* cache.commit({
          kind: "change",
          id: doc.id,
          writer: "w1",
          previous: recorded._tag === "Recorded" ? recorded.previous : Option.none(),
          change: { _tag: "Put", document: v2, s3Key: `changes/${doc.id}.json`, etag: DocumentStore.expectedEtag(v2) },
        })
        yield* intent({ ...doc, version: 3 }, "w2")
        yield* cache.clearIntent("change", doc.id, "w2")
      }).pipe(
        Effect.provide(
          Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.Debug)),
        ),
      )
      client.destroy()
      return { asked, lines: lines.filter(([message]) => message.startsWith("cache.")) }
    })

  it.live(
    "off by default: no request asks for it and no line carries the field; on: every request asks, every line reports",
    () =>
      Effect.gen(function* () {
        const { table, clientConfig } = yield* Effect.promise(() => Testing.isolated("cache-capacity"))
        const off = yield* run(table, clientConfig.dynamodb)
        expect(new Set(off.asked.map(([command]) => command))).toEqual(
          new Set([
            "TransactWriteItemsCommand",
            "GetItemCommand",
            "QueryCommand",
            "BatchGetItemCommand",
            "UpdateItemCommand",
          ]),
        )
        expect(off.asked.filter(([, asked]) => asked !== undefined)).toEqual([])
        expect(off.lines.map(([message]) => message)).toEqual(
          expect.arrayContaining(["cache.put", "cache.get", "cache.query"]),
        )
        expect(off.lines.filter(([, fields]) => "consumedCapacity" in fields)).toEqual([])

        const on = yield* run(table, clientConfig.dynamodb, true)
        expect(on.asked.length).toBeGreaterThanOrEqual(4)
        expect(on.asked.filter(([, asked]) => asked !== "TOTAL")).toEqual([])
        // DynamoDB Local reports capacity like AWS: a put of a document and its customer item, a consistent read.
        const reported = Object.fromEntries(on.lines.map(([message, fields]) => [message, fields.consumedCapacity]))
        expect(reported["cache.put"]).toBeGreaterThan(0)
        expect(reported["cache.get"]).toBeGreaterThan(0)
        expect(reported["cache.query"]).toBeGreaterThan(0)
      }),
  )

  it("DOCKET_CONSUMED_CAPACITY is off unless set to on; anything else is a configuration error", () => {
    const read = (entries: ReadonlyArray<readonly [string, string]>) =>
      Effect.runSync(
        DocketConfig.config.pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DOCKET_BUCKET", "b"], ...entries]))),
          Effect.either,
        ),
      )
    expect(read([])).toMatchObject({ _tag: "Right", right: { consumedCapacity: false } })
    expect(read([["DOCKET_CONSUMED_CAPACITY", "on"]])).toMatchObject({
      _tag: "Right",
      right: { consumedCapacity: true },
    })
    expect(read([["DOCKET_CONSUMED_CAPACITY", "off"]])).toMatchObject({
      _tag: "Right",
      right: { consumedCapacity: false },
    })
    const bad = read([["DOCKET_CONSUMED_CAPACITY", "yes"]])
    expect(bad._tag).toBe("Left")
    expect(String(bad._tag === "Left" ? bad.left : "")).toContain("DOCKET_CONSUMED_CAPACITY")
  })
})

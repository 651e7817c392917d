/**
 * Spans: the tree of a write-through, a fallback read and an SQS batch on the
 * real backends (DynamoDB Local + the S3 emulator), exported through
 * @effect/opentelemetry into OpenTelemetry's in-memory span exporter; a trace
 * continued from a `traceparent` / X-Ray header; and the OTLP/HTTP exporter
 * posting to a real HTTP server only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Testing from "@docket/local/Testing"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as OperationLog from "../src/OperationLog.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as TraceContext from "../src/TraceContext.js"
import * as Tracing from "../src/Tracing.js"
import * as WriteThrough from "../src/WriteThrough.js"
import * as LocalDocket from "./support/LocalDocket.js"

const quiet = Logger.minimumLogLevel(LogLevel.None)
const exporter = new InMemorySpanExporter()
const otel = NodeSdk.layer(() => ({
  resource: { serviceName: "docket-test" },
  spanProcessor: new SimpleSpanProcessor(exporter),
}))

let isolatedBucket = ""
const local = Layer.unwrapEffect(
  Effect.promise(() => Testing.isolated("tracing")).pipe(
    Effect.map((isolated) => {
      isolatedBucket = isolated.bucket
      return LocalDocket.layer(isolated, { rps: 100_000 })
    }),
  ),
)

const sample = (id: string) => ({
  ...fc.sample(
    Arbitraries.change({
      maxTextLength: 20,
      minTime: new Date("2099-01-01T00:00:00Z"),
      maxTime: new Date("2099-06-01T00:00:00Z"),
    }),
    { numRuns: 1, seed: id.length },
  )[0]!,
  id: id as never,
})

/** A span tree as text: `name outcome` lines, children indented, in start order. */
interface Node {
  readonly span: ReadableSpan
  readonly children: Array<Node>
}

const tree = (spans: ReadonlyArray<ReadableSpan>): Array<Node> => {
  const nodes = new Map(spans.map((span) => [span.spanContext().spanId, { span, children: [] as Array<Node> }]))
  const roots: Array<Node> = []
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanContext?.spanId
    const into = parent === undefined ? undefined : nodes.get(parent)
    if (into === undefined) roots.push(node)
    else into.children.push(node)
  }
  const order = (list: Array<Node>) => {
    list.sort((a, b) => a.span.startTime[0] - b.span.startTime[0] || a.span.startTime[1] - b.span.startTime[1])
    for (const n of list) order(n.children)
  }
  order(roots)
  return roots
}

const names = (node: Node): ReadonlyArray<string> => [node.span.name, ...node.children.flatMap(names)]
const childNames = (node: Node): ReadonlyArray<string> => node.children.map((c) => c.span.name)
const find = (node: Node, name: string): Node | undefined =>
  node.span.name === name ? node : node.children.map((c) => find(c, name)).find((n) => n !== undefined)

/** Runs `self` (on the real clock, so spans have durations) and returns the span trees it produced. */
const traced = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    exporter.reset()
    const value = yield* Effect.withClock(self, Clock.make())
    return { value, roots: tree(exporter.getFinishedSpans()) }
  })

const millis = (span: ReadableSpan) => span.duration[0] * 1000 + span.duration[1] / 1e6

/** The tree as text, for a person: `name  12.3 ms  key=... outcome=...`. */
const render = (node: Node, depth = 0): string => {
  const attrs = Object.entries(node.span.attributes)
    .filter(([k]) =>
      ["docket.key", "docket.version", "docket.outcome", "docket.attempts", "docket.requests"].includes(k),
    )
    .map(([k, v]) => `${k.slice(7)}=${String(v)}`)
    .join(" ")
  const line = `${"  ".repeat(depth)}${node.span.name}  ${millis(node.span).toFixed(1)} ms  ${attrs}`.trimEnd()
  return [line, ...node.children.map((c) => render(c, depth + 1))].join("\n")
}

// DOCKET_PRINT_TRACES=1 prints each tree (docs/observability.md shows one).
const show = (root: Node) => {
  if (process.env.DOCKET_PRINT_TRACES === "1") console.log(render(root))
}

const only = (roots: ReadonlyArray<Node>): Node => {
  expect(roots.map((r) => r.span.name)).toHaveLength(1)
  return roots[0]!
}

describe("Tracing: span trees on the local stack", () => {
  it.layer(Layer.mergeAll(local, otel, quiet), { timeout: "120 seconds" })((it) => {
    it.effect(
      "a write-through is one trace: the write span over its cache and S3 calls, with operator attributes",
      () =>
        Effect.gen(function* () {
          const document = sample("CHG-trace-write")
          const { roots } = yield* traced(WriteThrough.write(document))
          const root = only(roots)
          show(root)
          expect(root.span.name).toBe("writeThrough.write")
          expect(root.span.attributes).toMatchObject({
            "docket.key": `change/${document.id}`,
            "docket.version": document.version,
            "docket.outcome": "Written",
          })
          const all = names(root)
          // The protocol's three round trips are the write's children, in order: intent, S3 put, commit.
          expect(all.some((n) => n.startsWith("cache."))).toBe(true)
          expect(root.children.map((c) => c.span.name)).toEqual(["cache.intend", "s3.PutObject", "cache.commit"])
          const put = find(root, "s3.PutObject")
          expect(put).toBeDefined()
          expect(childNames(put!)).toContain("s3.PutObject.attempt")
          expect(put!.span.attributes["docket.key"]).toMatch(/changes\/CHG-trace-write\.json$/)
          const attempt = find(put!, "s3.PutObject.attempt")!
          expect(attempt.span.attributes["docket.outcome"]).toBe("ok")
          const cacheSpan = root.children.find((c) => c.span.name.startsWith("cache."))!
          expect(typeof cacheSpan.span.attributes["docket.attempts"]).toBe("number")
          expect(typeof cacheSpan.span.attributes["docket.requests"]).toBe("number")
          const traceIds = new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId))
          expect(traceIds.size).toBe(1)
        }),
    )

    it.effect("a fallback read: the read span over the cache miss, the S3 read and the background refill", () =>
      Effect.gen(function* () {
        const document = sample("CHG-trace-read")
        const store = yield* DocumentStore.DocumentStore
        yield* store.put(document)
        const reader = yield* FallbackReader.FallbackReader
        const { value, roots } = yield* traced(
          reader.read(document.kind, document.id).pipe(Effect.tap(() => reader.awaitRefills)),
        )
        expect(Option.map(value, (r) => r.source)).toEqual(Option.some("store"))
        const root = only(roots)
        show(root)
        expect(root.span.name).toBe("fallbackReader.read")
        expect(root.span.attributes).toMatchObject({
          "docket.key": `change/${document.id}`,
          "docket.outcome": "fallback",
          "docket.version": document.version,
        })
        const children = childNames(root)
        expect(children.find((n) => n.startsWith("cache."))).toBeDefined()
        expect(children).toContain("s3.GetObject")
        // The refill runs in the background but stays in the read's trace, as its child.
        const refill = find(root, "fallbackReader.refill")
        expect(refill).toBeDefined()
        expect(refill!.span.attributes["docket.outcome"]).toBe("ok")
        expect(names(refill!).some((n) => n === "cache.put")).toBe(true)
      }),
    )

    it.effect("an SQS batch: one batch span, a span per record, the S3 read and cache write under each", () =>
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        const docs = [sample("CHG-trace-sqs-1"), { ...sample("CHG-trace-sqs-22"), id: "CHG-trace-sqs-22" as never }]
        const records = yield* Effect.forEach(docs, (d, i) =>
          Effect.map(store.put(d), ({ key, etag }) => ({
            messageId: `m-${i}`,
            eventSource: "aws:sqs",
            attributes: {
              AWSTraceHeader: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            },
            body: JSON.stringify({
              Records: [
                {
                  eventVersion: "2.1",
                  eventSource: "aws:s3",
                  awsRegion: "us-east-1",
                  eventTime: new Date().toISOString(),
                  eventName: "ObjectCreated:Put",
                  s3: {
                    s3SchemaVersion: "1.0",
                    bucket: { name: isolatedBucket, arn: `arn:aws:s3:::${isolatedBucket}` },
                    object: { key, eTag: etag, size: 100, sequencer: `00643717F9F8B8535${i}` },
                  },
                },
              ],
            }),
          })),
        )
        const { value, roots } = yield* traced(S3EventSync.processEvent({ Records: records }))
        expect(value.failed).toHaveLength(0)
        const root = only(roots)
        show(root)
        expect(root.span.name).toBe("S3EventSync.batch")
        expect(root.span.attributes).toMatchObject({
          "docket.source": "sqs",
          "docket.records": 2,
          "docket.failed": 0,
          "docket.outcome": "ok",
        })
        expect(childNames(root)).toStrictEqual(["event-sync", "event-sync"])
        for (const record of root.children) {
          expect(record.span.attributes["docket.outcome"]).toBe("Written")
          expect(String(record.span.attributes["docket.key"])).toMatch(/CHG-trace-sqs-/)
          const below = names(record)
          expect(below.some((n) => n.startsWith("s3."))).toBe(true)
          expect(below.some((n) => n === "cache.put")).toBe(true)
        }
        const cache = yield* DocumentCache.DocumentCache
        expect(Option.isSome(yield* cache.get("change", "CHG-trace-sqs-22"))).toBe(true)
      }),
    )

    it.effect("a trace is continued from the traceparent or X-Ray header the process was invoked with", () =>
      Effect.gen(function* () {
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        const parent = TraceContext.fromTraceparent(`00-${traceId}-00f067aa0ba902b7-01`)
        const { roots } = yield* traced(
          WriteThrough.write(sample("CHG-trace-parent")).pipe(TraceContext.withParent(parent)),
        )
        const root = only(roots)
        expect(root.span.spanContext().traceId).toBe(traceId)
        expect(root.span.parentSpanContext?.spanId).toBe("00f067aa0ba902b7")
        const xray = Option.getOrThrow(
          TraceContext.fromXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
        )
        expect([xray.traceId, xray.spanId, xray.sampled]).toStrictEqual([
          "5759e988bd862e3fe1be46a994272793",
          "53995c3f42cd8ad8",
          true,
        ])
        expect(TraceContext.fromXRay("Root=1-5759e988-bd862e3fe1be46a994272793")).toEqual(Option.none())
        expect(TraceContext.fromTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).toEqual(
          Option.none(),
        )
        expect(TraceContext.fromTraceparent("garbage")).toEqual(Option.none())
      }),
    )
  })
})

describe("Tracing: the OTLP exporter", () => {
  const received: Array<{ readonly path: string; readonly body: string }> = []
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (d: Buffer) => {
      body += d.toString()
    })
    req.on("end", () => {
      received.push({ path: req.url ?? "", body })
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const listening = new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  )
  const operation = Effect.succeed(1).pipe(OperationLog.logged("test.operation", { key: "change/CHG-otlp" }))
  const withEnv = (env: Record<string, string>) =>
    operation.pipe(
      Effect.provide(Tracing.layerConfig("docket-test")),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    )

  it.live("is off by default; with OTEL_EXPORTER_OTLP_ENDPOINT it posts the spans as OTLP/HTTP JSON", () =>
    Effect.gen(function* () {
      const url = yield* Effect.promise(() => listening)
      yield* withEnv({})
      yield* withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_SDK_DISABLED: "true" })
      expect(received).toHaveLength(0)
      yield* withEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: `${url}/`,
        OTEL_SERVICE_NAME: "docket-otlp-test",
        OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s%3Dcret",
      })
      // The layer's release sent the last batch.
      expect(received.map((r) => r.path)).toStrictEqual(["/v1/traces"])
      const body = JSON.parse(received[0]!.body) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
          scopeSpans: Array<{ spans: Array<{ name: string; attributes: Array<{ key: string }> }> }>
        }>
      }
      const resource = body.resourceSpans[0]!
      expect(resource.resource.attributes).toContainEqual({
        key: "service.name",
        value: { stringValue: "docket-otlp-test" },
      })
      const span = resource.scopeSpans[0]!.spans[0]!
      expect(span.name).toBe("test.operation")
      expect(span.attributes.map((a) => a.key)).toEqual(expect.arrayContaining(["docket.key", "docket.outcome"]))
      expect(Tracing.parseHeaders("x-api-key=s%3Dcret, b = 2,bad")).toStrictEqual({ "x-api-key": "s=cret", b: "2" })
    }),
  )
})

import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as MetricsExport from "@docket/core/MetricsExport"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as EventHandler from "../src/EventHandler.js"
import * as Handlers from "./support/Handlers.js"

const bucket = "docs"

const change = (id: string) => Handlers.change(id)

const s3Record = (key: string, sequencer: string) => ({
  eventVersion: "2.1",
  eventSource: "aws:s3",
  awsRegion: "us-east-1",
  eventTime: "2026-11-24T10:00:00.000Z",
  eventName: "ObjectCreated:Put",
  s3: { s3SchemaVersion: "1.0", bucket: { name: bucket }, object: { key, sequencer } },
})

const sqsRecord = (messageId: string, body: string) => ({ messageId, body, eventSource: "aws:sqs" })

/** Memory backends with two documents in S3 and one object that is not a valid document. */
const setup = Effect.gen(function* () {
  const store = yield* DocumentStore.makeMemory({ bucket })
  yield* store.put(change("CHG-1"))
  yield* store.put(change("CHG-2"))
  yield* store.putRaw("changes/CHG-bad.json", "{}")
  const cache = yield* DocumentCache.makeMemory()
  const { console: capture, lines } = yield* Handlers.capturedConsole
  const logs: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
  const logger = Logger.make(({ message, annotations }) => {
    logs.push({ message, annotations: Object.fromEntries(annotations) })
  })
  const layer = Layer.mergeAll(
    Layer.succeed(DocumentStore.DocumentStore, store),
    Layer.succeed(DocumentCache.DocumentCache, cache),
    DocketConfig.layer(DocketConfig.make({ bucket, maxAttempts: 1 })),
    DocumentKind.layerDefault,
    MetricsExport.layer({ table: "docket-test" }),
    Logger.replace(Logger.defaultLogger, logger),
  )
  const run = (event: unknown, requestId: string) =>
    EventHandler.handle(event, { awsRequestId: requestId }).pipe(
      Effect.provide(layer),
      Effect.withConsole(capture),
      Effect.exit,
    )
  return { run, lines, logs, cache }
}).pipe(Effect.provide(DocumentKind.layerDefault))

describe("EventHandler", () => {
  it.effect("SQS: answers batchItemFailures with exactly the messages that failed", () =>
    Effect.gen(function* () {
      const { run, cache } = yield* setup
      const exit = yield* run(
        {
          Records: [
            sqsRecord("m1", JSON.stringify({ Records: [s3Record("changes/CHG-1.json", "01")] })),
            sqsRecord("m2", JSON.stringify({ Records: [s3Record("changes/CHG-bad.json", "02")] })),
            sqsRecord("m3", "{broken"),
            sqsRecord("m4", JSON.stringify({ Records: [s3Record("changes/CHG-2.json", "03")] })),
          ],
        },
        "req-sqs",
      )
      expect(exit).toStrictEqual(
        Exit.succeed({ batchItemFailures: [{ itemIdentifier: "m2" }, { itemIdentifier: "m3" }] }),
      )
      for (const id of ["CHG-1", "CHG-2"]) {
        const entry = yield* cache.get("change", id)
        expect(entry._tag === "Some" && entry.value._tag, id).toBe("Cached")
      }
    }),
  )

  it.effect("direct S3: fails the invocation when a record failed, naming it, after applying the others", () =>
    Effect.gen(function* () {
      const { run, cache } = yield* setup
      const ok = yield* run({ Records: [s3Record("changes/CHG-1.json", "01")] }, "req-ok")
      expect(ok).toStrictEqual(Exit.succeed(undefined))
      const exit = yield* run(
        { Records: [s3Record("changes/CHG-bad.json", "02"), s3Record("changes/CHG-2.json", "03")] },
        "req-fail",
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("InvocationError")
      expect(error?.message).toContain("1 of 2 S3 event record(s) failed")
      expect(error?.message).toContain("Records[0]")
      expect(error?.message).toContain("changes/CHG-bad.json")
      const entry = yield* cache.get("change", "CHG-2")
      expect(entry._tag === "Some" && entry.value._tag).toBe("Cached")
    }),
  )

  it.effect("an event of no known shape fails the invocation with what was expected", () =>
    Effect.gen(function* () {
      const { run } = yield* setup
      const exit = yield* run({ hello: "world" }, "req-unknown")
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("MalformedEventError")
      expect(error?.message).toContain("not an S3 notification")
    }),
  )

  it.effect("logs carry the request id, and each invocation flushes its metrics as EMF", () =>
    Effect.gen(function* () {
      const { run, lines, logs } = yield* setup
      yield* run({ Records: [s3Record("changes/CHG-1.json", "01")] }, "req-logs")
      const invoke = logs.find((l) => l.annotations.operation === "lambda.invoke")
      expect(invoke?.annotations).toMatchObject({ requestId: "req-logs", source: "s3", records: 1, failed: 0 })
      const sync = logs.find((l) => l.annotations.operation === "event-sync")
      expect(sync?.annotations).toMatchObject({ requestId: "req-logs", key: "changes/CHG-1.json", outcome: "Written" })
      const emf = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(emf.length).toBeGreaterThan(0)
      const metrics = emf.flatMap((line) =>
        (
          (line._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> }).CloudWatchMetrics ?? []
        ).flatMap((m) => m.Metrics.map((x) => x.Name)),
      )
      expect(metrics).toContain("EventsProcessed")
    }),
  )
})

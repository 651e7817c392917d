import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as DocumentStore from "@docket/core/DocumentStore"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as BatchBackfill from "../src/BatchBackfill.js"
import * as Handlers from "./support/Handlers.js"

const bucket = "docs"

const change = Handlers.change

/** S3 holds CHG-1, CHG-2 and an undecodable CHG-3; the cache holds CHG-1 already. */
const setup = (options: { readonly throttled?: boolean } = {}) =>
  Effect.gen(function* () {
    const settings = DocketConfig.make({ bucket, prefix: "team docs/", maxAttempts: 1 })
    const base = Layer.merge(DocketConfig.layer(settings), DocumentKind.layerDefault)
    const kinds = yield* DocumentKind.DocumentKinds
    const store = yield* DocumentStore.makeMemory({ bucket, prefix: "team docs/" })
    const cache = yield* DocumentCache.makeMemory()
    for (const doc of [change("CHG-1"), change("CHG-2")]) yield* store.put(yield* Effect.orDie(kinds.decode(doc, "t")))
    yield* store.putRaw("team docs/changes/CHG-3.json", "{ not json")
    const stored = Option.getOrThrow(yield* Effect.orDie(store.getKey("team docs/changes/CHG-1.json")))
    yield* cache.put(stored.document, { s3Key: stored.key, etag: stored.etag })
    const throttled = options.throttled ? Handlers.failingPuts(cache, "Throttled") : cache
    const layer = Handlers.layer({ store, cache: throttled, logging: Logger.minimumLogLevel(LogLevel.None), base })
    const run = (event: unknown) =>
      BatchBackfill.handle(event, { awsRequestId: "req-batch" }).pipe(Effect.provide(layer), Effect.either)
    return { run, cache }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

const task = (taskId: string, s3Key: string, s3BucketName = bucket) => ({
  taskId,
  s3BucketName,
  s3Key,
  s3VersionId: null,
})

const batchEvent = (tasks: ReadonlyArray<ReturnType<typeof task>>) => ({
  invocationSchemaVersion: "2.0",
  invocationId: "inv-1",
  job: { id: "job-1", userArguments: null },
  tasks,
})

describe("BatchBackfill", () => {
  it.effect("S3 Batch Operations (schema 2.0): one result per task, URL-encoded keys, codes by what happened", () =>
    Effect.gen(function* () {
      const { run, cache } = yield* setup()
      expect(BatchBackfill.isBatchOperations(batchEvent([]))).toBe(true)
      const response = yield* run(
        batchEvent([
          task("t1", "team+docs/changes/CHG-1.json"),
          task("t2", "team+docs/changes/CHG-2.json"),
          task("t3", "team+docs/changes/CHG-3.json"),
          task("t4", "team+docs/readme.txt"),
          task("t5", "team+docs/changes/CHG-1.json", "other-bucket"),
          task("t6", "team+docs/changes/CHG-%ZZ.json"),
        ]),
      )
      expect(response._tag).toBe("Right")
      const answer = response._tag === "Right" ? (response.right as BatchBackfill.BatchOperationsResponse) : undefined
      expect(answer).toMatchObject({
        invocationSchemaVersion: "2.0",
        treatMissingKeysAs: "PermanentFailure",
        invocationId: "inv-1",
      })
      expect(answer?.results.map((r) => [r.taskId, r.resultCode])).toStrictEqual([
        ["t1", "Succeeded"],
        ["t2", "Succeeded"],
        ["t3", "PermanentFailure"],
        ["t4", "Succeeded"],
        ["t5", "PermanentFailure"],
        ["t6", "PermanentFailure"],
      ])
      expect(answer?.results[0]?.resultString).toBe("unchanged")
      expect(answer?.results[1]?.resultString).toBe("written")
      expect(answer?.results[2]?.resultString).toContain("DocumentDecodeError")
      expect(answer?.results[4]?.resultString).toContain("other-bucket")
      expect(Option.isSome(yield* cache.get("change", "CHG-2"))).toBe(true)
    }),
  )

  it.effect("a throttled write is a TemporaryFailure (Batch Operations retries it)", () =>
    Effect.gen(function* () {
      const { run } = yield* setup({ throttled: true })
      const response = yield* run(batchEvent([task("t2", "team+docs/changes/CHG-2.json")]))
      const answer = response._tag === "Right" ? (response.right as BatchBackfill.BatchOperationsResponse) : undefined
      expect(answer?.results[0]).toMatchObject({ taskId: "t2", resultCode: "TemporaryFailure" })
    }),
  )

  it.effect("Step Functions item batches: a summary, permanent failures reported, retryable ones fail the batch", () =>
    Effect.gen(function* () {
      const { run } = yield* setup()
      const event = {
        BatchInput: { docket: "backfill" },
        Items: [
          { Key: "team+docs/changes/CHG-1.json", ETag: "x" },
          { Key: "team+docs/changes/CHG-2.json" },
          { Key: "team+docs/changes/CHG-3.json" },
        ],
      }
      expect(BatchBackfill.isItemBatch(event)).toBe(true)
      const response = yield* run(event)
      expect(response._tag === "Right" && response.right).toMatchObject({
        items: 3,
        written: 1,
        unchanged: 1,
        failed: [{ key: "team docs/changes/CHG-3.json" }],
      })
      const throttled = yield* setup({ throttled: true })
      const failed = yield* throttled.run({
        BatchInput: { docket: "backfill" },
        Items: [{ Key: "team+docs/changes/CHG-2.json" }],
      })
      expect(failed._tag === "Left" && failed.left).toMatchObject({ _tag: "BatchBackfillError", reason: "Retryable" })
      const invalid = yield* run({ BatchInput: { docket: "backfill" }, Items: [{ Nope: 1 }] })
      expect(invalid._tag === "Left" && invalid.left).toMatchObject({ reason: "InvalidEvent" })
    }),
  )
})

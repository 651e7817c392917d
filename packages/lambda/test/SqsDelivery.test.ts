/**
 * The local stack's SQS delivery, end to end on real-protocol servers: object
 * changes in the S3 emulator become messages on a real SQS queue (fauxqs),
 * pollers behaving like Lambda's event source mapping invoke the deployed
 * handler (`EventHandler.handle`, built from the environment like the Lambda),
 * which writes to DynamoDB Local.
 */
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as LocalStack from "@docket/local/LocalStack"
import * as SqsDelivery from "@docket/local/SqsDelivery"
import * as Testing from "@docket/local/Testing"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as EventHandler from "../src/EventHandler.js"
import * as Handlers from "./support/Handlers.js"

let stack: LocalStack.Stack
let isolated: LocalStack.Isolated
let runtime: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<typeof EventHandler.layerConfig>, unknown>
let s3: S3Client

beforeAll(async () => {
  // The S3 (and SQS) emulator runs in this process, DynamoDB is the test run's shared DynamoDB Local.
  stack = await LocalStack.start({ dynamodbEndpoint: Testing.endpoints().dynamodbEndpoint })
  isolated = await LocalStack.isolate(stack, "sqs-delivery")
  // The handler's SDK clients read credentials the SDK's usual way.
  process.env.AWS_ACCESS_KEY_ID = LocalStack.credentials.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = LocalStack.credentials.secretAccessKey
  const environment = { ...isolated.environment, DOCKET_LOG_LEVEL: "error", DOCKET_MAX_ATTEMPTS: "1" }
  runtime = ManagedRuntime.make(
    EventHandler.layerConfig.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(environment))))),
    ),
  )
  s3 = new S3Client({ ...stack.clientConfig.s3 })
})

afterAll(async () => {
  s3?.destroy()
  await runtime?.dispose()
  await stack?.stop()
})

/** The deployed handler, as Lambda would invoke it. */
const handler: SqsDelivery.Handler = (event) =>
  runtime.runPromise(EventHandler.handle(event, { awsRequestId: "local-sqs" }).pipe(Effect.orDie)) as Promise<
    SqsDelivery.BatchResponse | undefined
  >

const change = Handlers.change

const put = (key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: isolated.bucket, Key: key, Body: body, ContentType: "application/json" }))

const cachedVersion = (id: string) =>
  runtime.runPromise(
    Effect.flatMap(DocumentCache.DocumentCache, (cache) => cache.get("change", id)).pipe(
      Effect.map((entry) =>
        Option.isSome(entry) && entry.value._tag === "Cached" ? entry.value.summary.version : undefined,
      ),
    ),
  )

describe("local SQS delivery", () => {
  it("a poison message ends in the dead-letter queue after maxReceiveCount receives, while the rest of its batch is synced", async () => {
    const batches: Array<SqsDelivery.BatchOutcome> = []
    const delivery = await SqsDelivery.start(stack, isolated.bucket, handler, {
      queueName: `${isolated.bucket}-poison`,
      batchSize: 10,
      maximumBatchingWindowMs: 500,
      // 3 s: a good message's batch finishes within its visibility even on a loaded machine, so only
      // the poison is received again (the assertions below count receives).
      visibilityTimeoutSeconds: 3,
      maxReceiveCount: 2,
      pollers: 1,
      onBatch: (outcome) => batches.push(outcome),
    })
    try {
      await Promise.all([
        put("changes/CHG-sqs-1.json", JSON.stringify(change("CHG-sqs-1"))),
        put("changes/CHG-sqs-2.json", JSON.stringify(change("CHG-sqs-2"))),
        put("changes/CHG-sqs-bad.json", "{}"),
        put("changes/CHG-sqs-3.json", JSON.stringify(change("CHG-sqs-3"))),
      ])
      await delivery.idle(30_000)

      for (const id of ["CHG-sqs-1", "CHG-sqs-2", "CHG-sqs-3"]) expect(await cachedVersion(id), id).toBe(1)
      expect(await delivery.counts()).toStrictEqual({ visible: 0, inFlight: 0, deadLettered: 1 })

      // The first batch held the poison and the good messages; only the poison was retried.
      const first = batches[0]!
      expect(first.messageIds.length).toBeGreaterThanOrEqual(2)
      expect(first.retried).toHaveLength(1)
      const poison = first.retried[0]!
      expect(first.error).toBeUndefined()
      // It was handed to the handler exactly maxReceiveCount times, then the queue dead-lettered it.
      expect(batches.filter((b) => b.messageIds.includes(poison))).toHaveLength(2)
      expect(batches.flatMap((b) => b.retried).every((id) => id === poison)).toBe(true)

      // The dead-letter queue holds the S3 notification of the bad object, untouched.
      const sqs = new SQSClient({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials })
      try {
        const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: delivery.dlqUrl, MaxNumberOfMessages: 10 }))
        expect(dead.Messages).toHaveLength(1)
        expect(dead.Messages![0]!.MessageId).toBe(poison)
        const notification = JSON.parse(dead.Messages![0]!.Body!)
        expect(notification.Records[0].s3.object.key).toBe("changes/CHG-sqs-bad.json")
        expect(notification.Records[0].eventName).toBe("ObjectCreated:Put")
      } finally {
        sqs.destroy()
      }
    } finally {
      await delivery.stop()
    }
  })

  it("a handler that fails the whole batch gets every message again, and deletes reach the cache too", async () => {
    const batches: Array<SqsDelivery.BatchOutcome> = []
    let calls = 0
    const flaky: SqsDelivery.Handler = async (event) => {
      calls += 1
      if (calls === 1) throw new Error("Task timed out after 60.00 seconds")
      return handler(event)
    }
    const delivery = await SqsDelivery.start(stack, isolated.bucket, flaky, {
      queueName: `${isolated.bucket}-flaky`,
      maximumBatchingWindowMs: 300,
      // Long enough that a batch still being handled on a loaded machine is not received again
      // while in flight, and receives to spare: this test is about the whole-batch retry, and a
      // slow handler's redelivery must not dead-letter a good message (2 did at load 28 with 1 s / 3).
      visibilityTimeoutSeconds: 3,
      maxReceiveCount: 6,
      pollers: 2,
      onBatch: (outcome) => batches.push(outcome),
    })
    try {
      await Promise.all([
        put("changes/CHG-sqs-4.json", JSON.stringify(change("CHG-sqs-4"))),
        put("changes/CHG-sqs-5.json", JSON.stringify(change("CHG-sqs-5"))),
      ])
      await delivery.idle(30_000)
      expect(batches[0]!.error).toContain("Task timed out")
      expect(batches[0]!.retried).toStrictEqual(batches[0]!.messageIds)
      for (const id of ["CHG-sqs-4", "CHG-sqs-5"]) expect(await cachedVersion(id), id).toBe(1)

      await s3.send(new DeleteObjectCommand({ Bucket: isolated.bucket, Key: "changes/CHG-sqs-4.json" }))
      await delivery.idle(30_000)
      expect(await cachedVersion("CHG-sqs-4")).toBeUndefined()
      expect(await delivery.counts()).toStrictEqual({ visible: 0, inFlight: 0, deadLettered: 0 })
    } finally {
      await delivery.stop()
    }
  })

  it("reads a handler's answer the way Lambda does with ReportBatchItemFailures", () => {
    const ids = ["m1", "m2", "m3"]
    expect(SqsDelivery.retainedBy(undefined, ids)).toStrictEqual({ retained: [] })
    expect(SqsDelivery.retainedBy(null, ids)).toStrictEqual({ retained: [] })
    expect(SqsDelivery.retainedBy({}, ids)).toStrictEqual({ retained: [] })
    expect(SqsDelivery.retainedBy({ batchItemFailures: [] }, ids)).toStrictEqual({ retained: [] })
    expect(SqsDelivery.retainedBy({ batchItemFailures: [{ itemIdentifier: "m2" }] }, ids)).toStrictEqual({
      retained: ["m2"],
    })
    // Lambda treats these as a failure of the whole batch.
    for (const bad of [
      { batchItemFailures: [{ itemIdentifier: "" }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ id: "m1" }] },
      { batchItemFailures: [{ itemIdentifier: "m9" }] },
      { batchItemFailures: "m1" },
      "ok",
    ]) {
      expect("invalid" in SqsDelivery.retainedBy(bad, ids), JSON.stringify(bad)).toBe(true)
    }
  })
})

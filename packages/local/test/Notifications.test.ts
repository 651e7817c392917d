import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3"
import * as S3Key from "@docket/core/S3Key"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as LocalStack from "../src/LocalStack.js"
import * as Notifications from "../src/Notifications.js"
import * as Testing from "../src/Testing.js"

// The S3 emulator runs in this process (its object changes are observable here);
// DynamoDB is the test run's shared DynamoDB Local.
let stack: LocalStack.Stack
let s3: S3Client

beforeAll(async () => {
  stack = await LocalStack.start({ dynamodbEndpoint: Testing.endpoints().dynamodbEndpoint })
  s3 = new S3Client({ ...stack.clientConfig.s3, maxAttempts: 1 })
})
afterAll(async () => {
  s3?.destroy()
  await stack?.stop()
})

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for notifications")
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe("Notifications", () => {
  it("turns every create and delete, from any S3 client, into a real-format event with a growing sequencer", async () => {
    await stack.createBucket("notify")
    await stack.createBucket("elsewhere")
    const events: Array<Notifications.S3Notification> = []
    const unsubscribe = Notifications.subscribe(stack, "notify", (event) => events.push(event))
    const key = "tenant a/é+ü (1)/changes/CHG-1.json"
    const put = await s3.send(new PutObjectCommand({ Bucket: "notify", Key: key, Body: '{"hello":"world"}' }))
    await s3.send(new PutObjectCommand({ Bucket: "elsewhere", Key: "ignored.json", Body: "{}" }))
    await s3.send(
      new CopyObjectCommand({ Bucket: "notify", Key: "copy.json", CopySource: `notify/${encodeURIComponent(key)}` }),
    )
    await s3.send(new DeleteObjectCommand({ Bucket: "notify", Key: key }))
    await s3.send(new DeleteObjectsCommand({ Bucket: "notify", Delete: { Objects: [{ Key: "copy.json" }] } }))
    await until(() => events.length >= 4)
    await new Promise((r) => setTimeout(r, 50))
    unsubscribe()

    expect(events.length).toBe(4)
    const records = events.map((e) => {
      expect(e.Records.length).toBe(1)
      return e.Records[0]!
    })
    expect(records.map((r) => r.eventName)).toStrictEqual([
      "ObjectCreated:Put",
      "ObjectCreated:Copy",
      "ObjectRemoved:Delete",
      "ObjectRemoved:Delete",
    ])
    for (const r of records) {
      expect(r).toMatchObject({ eventVersion: "2.1", eventSource: "aws:s3", awsRegion: stack.region })
      expect(r.s3.bucket).toMatchObject({ name: "notify", arn: "arn:aws:s3:::notify" })
      expect(Number.isNaN(Date.parse(r.eventTime))).toBe(false)
      expect(r.s3.object.sequencer).toMatch(/^[0-9A-F]{18}$/)
    }
    // URL-encoded like S3 does: space as +, `+` as %2B, UTF-8 percent-encoded.
    expect(records[0]?.s3.object.key).toBe("tenant+a/%C3%A9%2B%C3%BC+%281%29/changes/CHG-1.json")
    expect(S3Key.decodeEventKey(records[0]!.s3.object.key)).toStrictEqual(Either.right(key))
    expect(records[0]?.s3.object.eTag).toBe(put.ETag?.replace(/"/g, ""))
    expect(records[0]?.s3.object.size).toBe(17)
    expect(records[2]?.s3.object.eTag).toBeUndefined()
    const sequencers = records.map((r) => r.s3.object.sequencer)
    expect([...sequencers].sort()).toStrictEqual(sequencers)
    expect(new Set(sequencers).size).toBe(sequencers.length)
  })

  it("a failing listener does not break requests, and nothing is delivered after unsubscribe", async () => {
    await stack.createBucket("notify-2")
    let calls = 0
    const unsubscribe = Notifications.subscribe(stack, "notify-2", () => {
      calls += 1
      throw new Error("listener bug")
    })
    const errors: Array<unknown> = []
    const original = console.error
    console.error = (...args: Array<unknown>) => errors.push(args)
    try {
      await s3.send(new PutObjectCommand({ Bucket: "notify-2", Key: "a.json", Body: "{}" }))
      await until(() => calls === 1)
      unsubscribe()
      await s3.send(new PutObjectCommand({ Bucket: "notify-2", Key: "b.json", Body: "{}" }))
      await new Promise((r) => setTimeout(r, 50))
      expect(calls).toBe(1)
      expect(errors.length).toBe(1)
    } finally {
      console.error = original
    }
  })

  it.prop(
    "the event key encoding is the inverse of core's event key decoding",
    [fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 })],
    ([key]) => {
      expect(S3Key.decodeEventKey(Notifications.encodeKey(key))).toStrictEqual(Either.right(key))
    },
    { fastCheck: { numRuns: 300 } },
  )

  it("sequencers grow strictly, even within one millisecond", () => {
    const all = Array.from({ length: 1000 }, Notifications.nextSequencer)
    for (let i = 1; i < all.length; i++) expect(all[i]! > all[i - 1]!).toBe(true)
  })
})

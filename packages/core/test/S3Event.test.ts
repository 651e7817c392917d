import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as S3Event from "../src/S3Event.js"
import * as S3Key from "../src/S3Key.js"

const fixtures = join(import.meta.dirname, "fixtures", "s3-events")
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(fixtures, name), "utf8"))

const decodeRight = (input: unknown): S3Event.Decoded => {
  const decoded = S3Event.decode(input)
  if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
  return decoded.right
}

const records = (decoded: S3Event.Decoded) => decoded.entries.flatMap((e) => (e._tag === "Record" ? [e.record] : []))

/** A direct S3 notification record in the real format. */
const notificationRecord = (
  fields: { key: string; eventName?: string; sequencer?: string; bucket?: string } & Record<string, unknown>,
) => ({
  eventVersion: "2.1",
  eventSource: "aws:s3",
  awsRegion: "us-east-1",
  eventTime: "2026-11-24T10:00:00.000Z",
  eventName: fields.eventName ?? "ObjectCreated:Put",
  s3: {
    s3SchemaVersion: "1.0",
    bucket: { name: fields.bucket ?? "docs", arn: `arn:aws:s3:::${fields.bucket ?? "docs"}` },
    object: { key: S3Key.encodeEventKey(fields.key), size: 10, eTag: "abc", sequencer: fields.sequencer ?? "0A" },
  },
})

describe("S3Event", () => {
  it("decodes every real-shape fixture without a malformed entry", () => {
    const files = readdirSync(fixtures).filter((f) => f.endsWith(".json"))
    expect(files.length).toBe(10)
    for (const file of files) {
      const decoded = decodeRight(fixture(file))
      expect(decoded.entries.length, file).toBeGreaterThan(0)
      for (const entry of decoded.entries) expect(entry._tag, file).toBe("Record")
    }
  })

  it("normalises each fixture: source, type, decoded key and sequencer", () => {
    const one = (file: string) => {
      const rs = records(decodeRight(fixture(file)))
      expect(rs.length, file).toBe(1)
      return rs[0]!
    }
    const base = one("base.json")
    expect(base).toMatchObject({
      source: "s3",
      bucket: "lambda-artifacts-deafc19498e3f2df",
      key: "b21b84d653bb07b05b1e6b33684dc11b",
      eventType: "created",
      eventName: "ObjectCreated:Put",
      location: "Records[0]",
      etag: "b21b84d653bb07b05b1e6b33684dc11b",
      size: 1305107,
    })
    expect(base.sequencer).toStrictEqual(Option.some("0C0F6F405D6ED209E1".padStart(32, "0")))
    expect(base.eventTimeMillis).toBe(Date.parse("2019-09-03T19:37:27.192Z"))

    expect(one("delete-object.json").eventType).toBe("deleted")
    // Lifecycle expiration is a delete: re-read S3 (which has no object any more).
    expect(one("s3-lifecycle-event.json")).toMatchObject({ eventType: "deleted", key: "expiration/delete" })
    // Powertools' extra field is ignored; the non-hex sequencer is "no usable sequencer".
    const decodedKey = one("decoded-key.json")
    expect(decodedKey.key).toBe("Happy Face.jpg")
    expect(decodedKey.rawSequencer).toBe("Happy Sequencer")
    expect(decodedKey.sequencer).toStrictEqual(Option.none())
    expect(one("glacier.json").eventType).toBe("created")

    const sqs = decodeRight(fixture("sqs-event.json"))
    expect(sqs.source).toBe("sqs")
    expect(sqs.messageIds).toStrictEqual(["ca3e7a89-c358-40e5-8aa0-5da01403c267"])
    expect(records(sqs)[0]).toMatchObject({
      source: "sqs",
      messageId: "ca3e7a89-c358-40e5-8aa0-5da01403c267",
      key: "test.pdf",
      bucket: "xxx",
      eventType: "created",
      location: "SQS message ca3e7a89-c358-40e5-8aa0-5da01403c267 Records[0]",
    })

    expect(one("eventbridge-object-created.json")).toMatchObject({
      source: "eventbridge",
      bucket: "example-bucket",
      key: "IMG_m7fzo3.jpg",
      eventType: "created",
      etag: "4e68adba0abe2dc8653dc3354e14c01d",
    })
    expect(one("eventbridge-object-deleted.json").eventType).toBe("deleted")
    expect(one("eventbridge-object-expired.json")).toMatchObject({
      eventType: "deleted",
      eventName: "Object Deleted (Lifecycle Expiration)",
    })
    expect(one("eventbridge-object-restored.json").eventType).toBe("other")
  })

  it("URL-decodes S3 notification keys but takes EventBridge keys as they are", () => {
    const direct = records(decodeRight({ Records: [notificationRecord({ key: "tenant a/é+ü/changes/CHG-1.json" })] }))
    expect(direct[0]?.rawKey).toBe("tenant+a/%C3%A9%2B%C3%BC/changes/CHG-1.json")
    expect(direct[0]?.key).toBe("tenant a/é+ü/changes/CHG-1.json")
    const eb = fixture("eventbridge-object-created.json") as { detail: { object: { key: string } } }
    eb.detail.object.key = "tenant a/é+ü/changes/CHG-1.json"
    expect(records(decodeRight(eb))[0]?.key).toBe("tenant a/é+ü/changes/CHG-1.json")
  })

  it.prop(
    "any key survives S3's URL encoding in an event (encode then decode is the identity)",
    [fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 })],
    ([key]) => {
      const decoded = records(decodeRight({ Records: [notificationRecord({ key })] }))
      expect(decoded[0]?.key).toBe(key)
    },
    { fastCheck: { numRuns: 200 } },
  )

  it.prop(
    "normalised sequencers compare as strings the way S3 orders them (numerically)",
    [fc.bigInt({ min: 0n, max: (1n << 100n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 100n) - 1n })],
    ([a, b]) => {
      const seq = (n: bigint) =>
        records(decodeRight({ Records: [notificationRecord({ key: "k", sequencer: n.toString(16) })] }))[0]!.sequencer
      const sa = Option.getOrThrow(seq(a))
      const sb = Option.getOrThrow(seq(b))
      expect(sa < sb).toBe(a < b)
      expect(sa === sb).toBe(a === b)
    },
    { fastCheck: { numRuns: 200 } },
  )

  it.prop(
    "a record or SQS message is accepted exactly when its schema accepts it (the hand-checked common shape changes no verdict)",
    [
      fc.constantFrom(
        ["eventVersion"],
        ["eventSource"],
        ["awsRegion"],
        ["eventTime"],
        ["eventName"],
        ["s3"],
        ["s3", "bucket"],
        ["s3", "bucket", "name"],
        ["s3", "bucket", "arn"],
        ["s3", "object"],
        ["s3", "object", "key"],
        ["s3", "object", "size"],
        ["s3", "object", "eTag"],
        ["s3", "object", "versionId"],
        ["s3", "object", "sequencer"],
      ),
      fc.constantFrom<unknown>(undefined, null, 7, Number.NaN, "2.1", "3.0", "aws:s3", "", [], {}, { name: "docs" }),
      fc.boolean(),
    ],
    ([path, value, remove]) => {
      const record = JSON.parse(JSON.stringify(notificationRecord({ key: "changes/CHG-1.json" }))) as Record<
        string,
        any
      >
      let parent = record
      for (const step of path.slice(0, -1)) parent = parent[step]
      if (remove) delete parent[path.at(-1)!]
      else parent[path.at(-1)!] = value
      const schemaAccepts = Either.isRight(Schema.decodeUnknownEither(S3Event.NotificationRecord)(record))
      const entry = decodeRight({ Records: [record] }).entries[0]!
      const invalid = entry._tag === "Malformed" && entry.error.reason === "InvalidRecord"
      expect(invalid).toBe(!schemaAccepts)
      const message = { messageId: "m-1", eventSource: "aws:sqs", body: JSON.stringify({ Records: [record] }) }
      const inSqs = decodeRight({ Records: [message] }).entries[0]!
      // In a body the record went through JSON (undefined fields dropped, NaN is null).
      const schemaAcceptsJson = Either.isRight(
        Schema.decodeUnknownEither(S3Event.NotificationRecord)(JSON.parse(JSON.stringify(record))),
      )
      expect(inSqs._tag === "Malformed" && inSqs.error.reason === "InvalidRecord").toBe(!schemaAcceptsJson)
      const sqsField = path.length === 1 ? path[0]! : "body"
      const bad: Record<string, unknown> = { ...message }
      if (remove) delete bad[sqsField]
      else bad[sqsField] = value
      const sqsAccepts = Either.isRight(Schema.decodeUnknownEither(S3Event.SqsRecord)(bad))
      const badEntry = decodeRight({ Records: [bad, message] }).entries[0]!
      expect(badEntry._tag === "Malformed" && badEntry.error.location === "Records[0]").toBe(!sqsAccepts)
    },
    { fastCheck: { numRuns: 300 } },
  )

  it("keeps good records beside malformed ones and says what and where is wrong", () => {
    const { s3: _s3, ...noS3 } = notificationRecord({ key: "changes/CHG-1.json" })
    const decoded = decodeRight({
      Records: [
        notificationRecord({ key: "changes/CHG-1.json" }),
        noS3,
        { ...notificationRecord({ key: "x" }), eventTime: "yesterday" },
        notificationRecord({ key: "changes/CHG-2.json" }),
        { ...notificationRecord({ key: "x" }), eventVersion: "3.0" },
      ],
    })
    expect(decoded.entries.map((e) => e._tag)).toStrictEqual([
      "Record",
      "Malformed",
      "Malformed",
      "Record",
      "Malformed",
    ])
    const errors = decoded.entries.flatMap((e) => (e._tag === "Malformed" ? [e.error] : []))
    expect(errors[0]?.message).toContain("Records[1]")
    expect(errors[0]?.message).toContain("s3")
    expect(errors[1]?.message).toContain("yesterday")
    expect(errors[2]?.message).toContain("eventVersion")
  })

  it("SQS: skips S3 test events and names the message of a malformed body", () => {
    const sqsRecord = (messageId: string, body: string) => ({
      messageId,
      receiptHandle: "r",
      body,
      attributes: {},
      messageAttributes: {},
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:1:q",
      awsRegion: "us-east-1",
    })
    const decoded = decodeRight({
      Records: [
        sqsRecord(
          "m-test",
          JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Time: "2026-11-24T10:00:00Z", Bucket: "docs" }),
        ),
        sqsRecord("m-bad-json", "{not json"),
        sqsRecord("m-good", JSON.stringify({ Records: [notificationRecord({ key: "changes/CHG-1.json" })] })),
        sqsRecord("m-other", JSON.stringify({ hello: "world" })),
        sqsRecord(
          "m-sns",
          JSON.stringify({
            Type: "Notification",
            Message: JSON.stringify({ Records: [notificationRecord({ key: "changes/CHG-2.json" })] }),
          }),
        ),
        sqsRecord("m-eb", JSON.stringify(fixture("eventbridge-object-created.json"))),
      ],
    })
    expect(decoded.messageIds).toStrictEqual(["m-test", "m-bad-json", "m-good", "m-other", "m-sns", "m-eb"])
    expect(decoded.entries.map((e) => e._tag)).toStrictEqual([
      "TestEvent",
      "Malformed",
      "Record",
      "Malformed",
      "Record",
      "Record",
    ])
    const bad = decoded.entries[1]
    expect(bad?._tag === "Malformed" && bad.error.messageId).toBe("m-bad-json")
    expect(bad?._tag === "Malformed" && bad.error.message).toContain("SQS message m-bad-json")
    expect(records(decoded).map((r) => r.key)).toStrictEqual([
      "changes/CHG-1.json",
      "changes/CHG-2.json",
      "IMG_m7fzo3.jpg",
    ])
  })

  it("rejects an event of no known shape as a whole, with what it expected", () => {
    for (const input of [null, 42, "x", { foo: 1 }, { source: "aws.ec2" }]) {
      const decoded = S3Event.decode(input)
      expect(Either.isLeft(decoded)).toBe(true)
      if (Either.isLeft(decoded)) expect(decoded.left.message).toContain("not an S3 notification")
    }
  })
})

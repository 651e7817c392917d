/**
 * S3Event's edges that the first mutation pass over it (issue #11) found untested: every
 * malformed entry's reason, location, message id and detail; the optional fields a record
 * carries only when the event has them; event names and detail types; how an event's shape
 * is told (empty and mixed `Records`, SNS inside SNS, a body from "Amazon S3" that is no test
 * event, EventBridge with and without an id); the hand-checked fast path never accepting what
 * the schema refuses. Plain data in, plain data out.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as S3Event from "../src/S3Event.js"

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "s3-events", name), "utf8"))

const decoded = (input: unknown): S3Event.Decoded => Either.getOrThrow(S3Event.decode(input))

const record = (
  object: Record<string, unknown> = { key: "changes/CHG-1.json" },
  over: Record<string, unknown> = {},
) => ({
  eventVersion: "2.1",
  eventSource: "aws:s3",
  eventTime: "2026-11-24T10:00:00.000Z",
  eventName: "ObjectCreated:Put",
  s3: { bucket: { name: "docs" }, object },
  ...over,
})

const sqs = (messageId: string, body: unknown) => ({
  messageId,
  eventSource: "aws:sqs",
  body: typeof body === "string" ? body : JSON.stringify(body),
})

/** Each malformed entry's fields (the cause only as present or not). */
const errors = (d: S3Event.Decoded) =>
  d.entries.flatMap((e) => {
    if (e._tag !== "Malformed") return []
    const { cause: _, ...rest } = { ...e.error }
    return [{ ...rest, hasCause: e.error.cause !== undefined }]
  })

const only = (d: S3Event.Decoded): S3Event.EventRecord => {
  const [entry] = d.entries
  if (entry?._tag !== "Record" || d.entries.length !== 1) throw new Error(`not one record: ${JSON.stringify(d)}`)
  return entry.record
}

describe("S3Event edges", () => {
  it("a direct notification's malformed records: reason, location, detail, the cause, no message id", () => {
    const d = decoded({
      Records: [
        { ...record(), eventSource: 7, eventTime: 8, eventName: 9, eventVersion: 10 },
        record({ key: "changes/%E0%A4%A.json" }),
        record(undefined, { eventTime: "yesterday" }),
      ],
    })
    const [schema, key, time] = errors(d)
    expect(schema).toMatchObject({ reason: "InvalidRecord", location: "Records[0]", hasCause: true })
    expect(schema).not.toHaveProperty("messageId")
    // The schema's issue with its path (the decoder stops at the first issue).
    expect(schema?.detail).toBe("eventVersion: Expected string, actual 10")
    expect(key).toMatchObject({ reason: "InvalidKey", location: "Records[1]", hasCause: true })
    expect(key?.detail).toContain("changes/%E0%A4%A.json")
    expect(time).toStrictEqual({
      _tag: "MalformedEventError",
      reason: "InvalidTime",
      location: "Records[2]",
      detail: 'eventTime "yesterday" is not a date',
      hasCause: false,
      retryable: false,
    })
    // An error without a cause has no cause field at all (not one set to undefined).
    const timeError = d.entries[2]
    expect(timeError?._tag === "Malformed" && Object.hasOwn(timeError.error, "cause")).toBe(false)
    // A whole event without a path (not an object) is one issue with no path prefix.
    const [bare] = errors(decoded({ Records: [42] }))
    expect(bare?.detail).toMatch(/^Expected \{ readonly eventVersion/)
    expect(new S3Event.MalformedEventError({ reason: "InvalidKey", location: "x", detail: "d" }).retryable).toBe(false)
  })

  it("an SQS batch's malformed entries name their message; messageIds lists every message with an id", () => {
    const d = decoded({
      Records: [
        { messageId: "m-shape", eventSource: "aws:sqs" },
        { eventSource: "aws:sqs", body: "{}" },
        sqs("m-json", "{not json"),
        sqs("m-other", { hello: "world" }),
        sqs("m-record", { Records: [record(undefined, { eventTime: "never" })] }),
        sqs("m-eb", { ...fixture("eventbridge-object-created.json"), time: "never" }),
      ],
    })
    expect(d.messageIds).toStrictEqual(["m-shape", "m-json", "m-other", "m-record", "m-eb"])
    const [shape, noId, json, other, inner, eb] = errors(d)
    expect(shape).toMatchObject({ reason: "InvalidRecord", location: "Records[0]", messageId: "m-shape" })
    expect(shape?.detail).toMatch(/^body: /)
    expect(noId).toMatchObject({ reason: "InvalidRecord", location: "Records[1]" })
    expect(noId).not.toHaveProperty("messageId")
    expect(json).toMatchObject({
      reason: "InvalidBody",
      location: "SQS message m-json",
      messageId: "m-json",
      detail: "the message body is not JSON",
      hasCause: true,
    })
    expect(other).toStrictEqual({
      _tag: "MalformedEventError",
      reason: "InvalidBody",
      location: "SQS message m-other",
      messageId: "m-other",
      detail:
        "the message body is neither an S3 notification ({Records: [...]}), an S3 test event, nor an EventBridge S3 event",
      hasCause: false,
      retryable: false,
    })
    expect(inner).toMatchObject({
      reason: "InvalidTime",
      location: "SQS message m-record Records[0]",
      messageId: "m-record",
    })
    expect(eb).toMatchObject({ reason: "InvalidTime", location: "SQS message m-eb", messageId: "m-eb" })
  })

  it("a body is a test event only from Amazon S3 with s3:TestEvent; SNS is unwrapped once", () => {
    const testEvent = { Service: "Amazon S3", Event: "s3:TestEvent" }
    const sns = (message: unknown) => ({ Type: "Notification", Message: JSON.stringify(message) })
    const d = decoded({
      Records: [
        sqs("m-test", testEvent),
        sqs("m-not-test", { ...testEvent, Event: "s3:Other" }),
        sqs("m-not-s3", { ...testEvent, Service: "Amazon SQS" }),
        sqs("m-sns", sns({ Records: [record()] })),
        sqs("m-sns-sns", sns(sns({ Records: [record()] }))),
        sqs("m-sns-bad", { Type: "Notification", Message: "{not json" }),
      ],
    })
    expect(d.entries.map((e) => (e._tag === "Malformed" ? e.error.reason : e._tag))).toStrictEqual([
      "TestEvent",
      "InvalidBody",
      "InvalidBody",
      "Record",
      "InvalidBody",
      "InvalidBody",
    ])
    expect(d.entries[0]).toStrictEqual({ _tag: "TestEvent", location: "SQS message m-test", messageId: "m-test" })
    expect(d.entries[3]?._tag === "Record" && d.entries[3].record.location).toBe("SQS message m-sns Records[0]")
  })

  it("a record carries source, message id and the optional fields exactly when the event has them", () => {
    const bare = only(decoded({ Records: [record()] }))
    expect(bare).toStrictEqual({
      source: "s3",
      location: "Records[0]",
      bucket: "docs",
      key: "changes/CHG-1.json",
      rawKey: "changes/CHG-1.json",
      eventName: "ObjectCreated:Put",
      eventType: "created",
      sequencer: Option.none(),
      eventTime: "2026-11-24T10:00:00.000Z",
      eventTimeMillis: Date.parse("2026-11-24T10:00:00.000Z"),
    })
    const full = record({ key: "changes/CHG-1.json", size: 0, eTag: "e", sequencer: "0A" })
    const inSqs = only(decoded({ Records: [sqs("m-1", { Records: [full] })] }))
    expect(inSqs).toMatchObject({ source: "sqs", messageId: "m-1", size: 0, etag: "e", rawSequencer: "0A" })
    expect(inSqs.sequencer).toStrictEqual(Option.some("A".padStart(32, "0")))
    const eb = fixture("eventbridge-object-created.json")
    const direct = only(decoded(eb))
    expect(direct).toMatchObject({ source: "eventbridge", location: `EventBridge event ${eb.id}` })
    expect(direct).not.toHaveProperty("messageId")
    expect(only(decoded({ Records: [sqs("m-eb", eb)] }))).toMatchObject({ source: "sqs", messageId: "m-eb" })
    const { id: _, ...noId } = eb
    expect(only(decoded(noId)).location).toBe("EventBridge event (no id)")
    const { object: __, ...noObject } = eb.detail
    const [bad] = errors(decoded({ ...eb, detail: noObject }))
    expect(bad).toMatchObject({ reason: "InvalidRecord", location: `EventBridge event ${eb.id}`, hasCause: true })
    expect(bad?.detail).toMatch(/^detail\.object: /)
  })

  it("event names and detail types: created, deleted, other", () => {
    const typeOf = (eventName: string) => only(decoded({ Records: [record(undefined, { eventName })] })).eventType
    expect(typeOf("ObjectCreated:Copy")).toBe("created")
    expect(typeOf("ObjectRemoved:DeleteMarkerCreated")).toBe("deleted")
    expect(typeOf("LifecycleExpiration:Delete")).toBe("deleted")
    expect(typeOf("ObjectRestore:Completed")).toBe("other")
    expect(typeOf("xObjectCreated:Put")).toBe("other")
    expect(S3Event.eventBridgeTypeOf("Object Created")).toBe("created")
    expect(S3Event.eventBridgeTypeOf("Object Deleted")).toBe("deleted")
    expect(S3Event.eventBridgeTypeOf("Object Restore Completed")).toBe("other")
  })

  it("the event's shape: empty Records is a notification of nothing; one SQS record makes an SQS event", () => {
    expect(decoded({ Records: [] })).toStrictEqual({ source: "s3", entries: [], messageIds: [] })
    const mixed = decoded({ Records: [record(), sqs("m-1", { Records: [record()] })] })
    expect(mixed.source).toBe("sqs")
    expect(mixed.messageIds).toStrictEqual(["m-1"])
    expect(mixed.entries.map((e) => e._tag)).toStrictEqual(["Malformed", "Record"])
    const unknown = S3Event.decode({ foo: 1 })
    expect(Either.isLeft(unknown) && { ...unknown.left, message: unknown.left.message }).toStrictEqual({
      _tag: "MalformedEventError",
      reason: "UnknownShape",
      location: "event",
      detail:
        "not an S3 notification ({Records: [{eventSource: 'aws:s3', ...}]}), an SQS event ({Records: [{eventSource: 'aws:sqs', body}]}) or an EventBridge S3 event ({source: 'aws.s3', 'detail-type', detail})",
      retryable: false,
      message: `Malformed S3 event at event: not an S3 notification ({Records: [{eventSource: 'aws:s3', ...}]}), an SQS event ({Records: [{eventSource: 'aws:sqs', body}]}) or an EventBridge S3 event ({source: 'aws.s3', 'detail-type', detail})`,
    })
  })

  it("the hand-checked common shape accepts no eventVersion, region or size the schema refuses", () => {
    const reasonOf = (over: Record<string, unknown>, object: Record<string, unknown> = { key: "k" }) => {
      const [entry] = decoded({ Records: [record(object, over)] }).entries
      return entry?._tag === "Malformed" ? entry.error.reason : entry?._tag
    }
    for (const eventVersion of ["12.1", "2.1x", "2.x", "2.", "x2.1"]) {
      expect(reasonOf({ eventVersion }), eventVersion).toBe("InvalidRecord")
    }
    for (const eventVersion of ["2.0", "2.10", "2.3"]) expect(reasonOf({ eventVersion }), eventVersion).toBe("Record")
    expect(reasonOf({ awsRegion: 1 })).toBe("InvalidRecord")
    expect(reasonOf({ awsRegion: "eu-west-1" })).toBe("Record")
    expect(reasonOf({}, { key: "k", size: "1" })).toBe("InvalidRecord")
    expect(reasonOf({}, { key: "k", size: 1 })).toBe("Record")
  })

  it("the exported decoders' default sources; an EventBridge name carries its reason only when it has one", () => {
    const direct = S3Event.decodeNotificationRecord(record(), { location: "here" })
    expect(Either.map(direct, (r) => [r.source, r.location])).toStrictEqual(Either.right(["s3", "here"]))
    const eb = fixture("eventbridge-object-created.json")
    const bridged = S3Event.decodeEventBridge(eb, { location: "there" })
    expect(Either.map(bridged, (r) => r.source)).toStrictEqual(Either.right("eventbridge"))
    const { reason: _, ...noReason } = eb.detail
    expect(only(decoded({ ...eb, detail: noReason })).eventName).toBe("Object Created")
    expect(only(decoded({ ...eb, detail: { ...noReason, reason: "CopyObject" } })).eventName).toBe(
      "Object Created (CopyObject)",
    )
    // A detail-type without a detail is no EventBridge event: the event as a whole has no known shape.
    const shapeless = S3Event.decode({ "detail-type": "Object Created", source: "aws.s3" })
    expect(Either.isLeft(shapeless) && shapeless.left.reason).toBe("UnknownShape")
    const untyped = S3Event.decode({ ...eb, "detail-type": 5 })
    expect(Either.isLeft(untyped) && untyped.left.reason).toBe("UnknownShape")
    const [version] = errors(decoded({ Records: [record(undefined, { eventVersion: "3.0" })] }))
    expect(version?.detail).toBe('eventVersion: unsupported eventVersion "3.0" (expected 2.x)')
  })

  it("records, bodies and message ids of no object shape are malformed entries, never a thrown error", () => {
    const d = decoded({
      Records: [
        null,
        { messageId: 7, eventSource: "aws:sqs" },
        sqs("m-null", "null"),
        sqs("m-nulls", { Records: [null] }),
      ],
    })
    expect(d.messageIds).toStrictEqual(["m-null", "m-nulls"])
    expect(errors(d).map((e) => [e.reason, e.location, e.messageId])).toStrictEqual([
      ["InvalidRecord", "Records[0]", undefined],
      ["InvalidRecord", "Records[1]", undefined],
      ["InvalidBody", "SQS message m-null", "m-null"],
      ["InvalidRecord", "SQS message m-nulls Records[0]", "m-nulls"],
    ])
    expect(errors(decoded({ Records: [null] })).map((e) => e.reason)).toStrictEqual(["InvalidRecord"])
    const eb = decoded(fixture("eventbridge-object-created.json"))
    expect([eb.source, eb.messageIds]).toStrictEqual(["eventbridge", []])
  })
})

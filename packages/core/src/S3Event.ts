/**
 * S3 event shapes, validated by schemas, and their decoding into one normalised
 * {@link EventRecord} per object change, whatever carried it:
 *
 * - the direct S3 notification (`{ Records: [{ eventVersion, eventSource: "aws:s3", s3: ... }] }`),
 * - S3 notifications inside SQS messages (each SQS record's `body` is the JSON of
 *   an S3 notification; also wrapped in SNS, or an EventBridge event routed to SQS),
 *   where S3's `s3:TestEvent` body is recognised and skipped,
 * - EventBridge `Object Created` / `Object Deleted` (and the other `aws.s3` detail types).
 *
 * Keys of S3 notifications are URL-encoded (`+` is a space, then percent-decoding);
 * EventBridge carries keys as they are. A record that does not validate becomes a
 * {@link MalformedEventError} naming what is wrong and where (record index, SQS
 * message id), beside the other records of the batch: one bad record never hides
 * the others. This module knows no Lambda types: it takes `unknown` and returns plain data.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as S3Key from "./S3Key.js"
import * as Sequencer from "./Sequencer.js"

// ---------------------------------------------------------------------------
// Schemas of the wire shapes (unknown extra fields are ignored)

/** The object part of an S3 notification record. */
export const NotificationObject = Schema.Struct({
  key: Schema.String,
  size: Schema.optional(Schema.Number),
  eTag: Schema.optional(Schema.String),
  versionId: Schema.optional(Schema.String),
  sequencer: Schema.optional(Schema.String),
})

/** One record of a direct S3 notification (event message structure version 2.x). */
export const NotificationRecord = Schema.Struct({
  eventVersion: Schema.String.pipe(
    Schema.pattern(/^2\.\d+$/, {
      message: (i) => `unsupported eventVersion ${JSON.stringify(i.actual)} (expected 2.x)`,
    }),
  ),
  eventSource: Schema.Literal("aws:s3"),
  awsRegion: Schema.optional(Schema.String),
  eventTime: Schema.String,
  eventName: Schema.String,
  s3: Schema.Struct({
    bucket: Schema.Struct({ name: Schema.String, arn: Schema.optional(Schema.String) }),
    object: NotificationObject,
  }),
})
export type NotificationRecord = typeof NotificationRecord.Type

/** A direct S3 notification: what S3 sends to a Lambda, SNS or SQS. */
export const Notification = Schema.Struct({ Records: Schema.Array(Schema.Unknown) })

/** The message S3 sends once when a notification configuration is saved; carries no change. */
export const TestEvent = Schema.Struct({
  Service: Schema.Literal("Amazon S3"),
  Event: Schema.Literal("s3:TestEvent"),
  Bucket: Schema.optional(Schema.String),
})

/** One record of an SQS event, as Lambda delivers it. */
export const SqsRecord = Schema.Struct({
  messageId: Schema.String,
  body: Schema.String,
  eventSource: Schema.Literal("aws:sqs"),
})

/** An SNS notification envelope (S3 -> SNS -> SQS without raw delivery). */
const SnsEnvelope = Schema.Struct({ Type: Schema.Literal("Notification"), Message: Schema.String })

/** An S3 event delivered by EventBridge. */
export const EventBridgeEvent = Schema.Struct({
  id: Schema.optional(Schema.String),
  "detail-type": Schema.String,
  source: Schema.Literal("aws.s3"),
  time: Schema.String,
  region: Schema.optional(Schema.String),
  detail: Schema.Struct({
    bucket: Schema.Struct({ name: Schema.String }),
    object: Schema.Struct({
      key: Schema.String,
      size: Schema.optional(Schema.Number),
      etag: Schema.optional(Schema.String),
      "version-id": Schema.optional(Schema.String),
      sequencer: Schema.optional(Schema.String),
    }),
    reason: Schema.optional(Schema.String),
    "deletion-type": Schema.optional(Schema.String),
  }),
})
export type EventBridgeEvent = typeof EventBridgeEvent.Type

// ---------------------------------------------------------------------------
// The normalised record

/** What carried an event to Docket. */
export type Source = "s3" | "sqs" | "eventbridge"

/**
 * What happened to the object, as far as the cache cares: `created` (any `ObjectCreated:*`, EventBridge
 * `Object Created`), `deleted` (`ObjectRemoved:*`, `LifecycleExpiration:*`, `Object Deleted`) or `other`
 * (restore, tagging, ACL, storage class changes: the body did not change).
 */
export type EventType = "created" | "deleted" | "other"

/** One object change, whatever carried it. */
export interface EventRecord {
  readonly source: Source
  /** Where the record sits in the event, e.g. `Records[2]` or `SQS message 5f1e… Records[0]`. */
  readonly location: string
  /** The SQS message that carried the record (for `batchItemFailures`). */
  readonly messageId?: string
  readonly bucket: string
  /** The decoded key (what `GetObject` takes). */
  readonly key: string
  /** The key as the event carried it (URL-encoded for S3 notifications). */
  readonly rawKey: string
  /** `ObjectCreated:Put`, `Object Deleted`, ... */
  readonly eventName: string
  readonly eventType: EventType
  /**
   * The sequencer normalised for comparison (see `Sequencer`); `None` when the
   * event has none or it is not hexadecimal: the record then means "re-read S3".
   */
  readonly sequencer: Option.Option<string>
  /** The sequencer as the event carried it. */
  readonly rawSequencer?: string
  /** When S3 says the change happened (ISO-8601). */
  readonly eventTime: string
  /** `eventTime` in epoch milliseconds. */
  readonly eventTimeMillis: number
  readonly etag?: string
  readonly size?: number
}

/** A record (or a whole event) that does not have a shape Docket accepts. */
export class MalformedEventError extends Data.TaggedError("MalformedEventError")<{
  readonly reason: "UnknownShape" | "InvalidRecord" | "InvalidBody" | "InvalidKey" | "InvalidTime"
  /** Where: `Records[3]`, `SQS message 5f1e… Records[0]`, `EventBridge event ab12…`, `event`. */
  readonly location: string
  /** The SQS message that carried it. */
  readonly messageId?: string
  readonly detail: string
  readonly cause?: unknown
}> {
  readonly retryable = false
  override get message() {
    return `Malformed S3 event at ${this.location}: ${this.detail}`
  }
}

/** One entry of a decoded event: a record, a malformed record, or an S3 test message to skip. */
export type Entry =
  | { readonly _tag: "Record"; readonly record: EventRecord }
  | { readonly _tag: "Malformed"; readonly error: MalformedEventError }
  | { readonly _tag: "TestEvent"; readonly location: string; readonly messageId?: string }

/** A decoded event. */
export interface Decoded {
  readonly source: Source
  readonly entries: ReadonlyArray<Entry>
  /** For SQS: every message id of the batch, in order (a message may hold several records or none). */
  readonly messageIds: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------
// Decoding

/** Classifies a direct S3 `eventName`. */
export const eventTypeOf = (eventName: string): EventType => {
  if (eventName.startsWith("ObjectCreated:")) return "created"
  if (eventName.startsWith("ObjectRemoved:") || eventName.startsWith("LifecycleExpiration:")) return "deleted"
  return "other"
}

/** Classifies an EventBridge `detail-type`. */
export const eventBridgeTypeOf = (detailType: string): EventType =>
  detailType === "Object Created" ? "created" : detailType === "Object Deleted" ? "deleted" : "other"

const formatIssue = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ")
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

interface Where {
  readonly location: string
  readonly messageId?: string
}

const malformed = (where: Where, reason: MalformedEventError["reason"], detail: string, cause?: unknown) =>
  new MalformedEventError({
    reason,
    location: where.location,
    detail,
    ...(where.messageId !== undefined ? { messageId: where.messageId } : {}),
    ...(cause !== undefined ? { cause } : {}),
  })

const eventTimeOf = (where: Where, time: string): Either.Either<number, MalformedEventError> => {
  const millis = Date.parse(time)
  return Number.isNaN(millis)
    ? Either.left(malformed(where, "InvalidTime", `eventTime ${JSON.stringify(time)} is not a date`))
    : Either.right(millis)
}

type Optional = Pick<EventRecord, "messageId" | "rawSequencer" | "etag" | "size">

const optionalFields = (fields: { readonly [K in keyof Optional]-?: Optional[K] | undefined }): Optional => {
  const out: { -readonly [K in keyof Optional]: Optional[K] } = {}
  if (fields.messageId !== undefined) out.messageId = fields.messageId
  if (fields.rawSequencer !== undefined) out.rawSequencer = fields.rawSequencer
  if (fields.etag !== undefined) out.etag = fields.etag
  if (fields.size !== undefined) out.size = fields.size
  return out
}

const sequencerOf = (raw: string | undefined): Option.Option<string> =>
  raw !== undefined && Sequencer.isValid(raw) ? Option.some(Sequencer.normalizeSequencer(raw)) : Option.none()

const optionalString = (u: unknown): boolean => u === undefined || typeof u === "string"

/** The common valid shape of a {@link NotificationRecord} by hand (cheaper): what it rejects goes to the schema. */
const isPlainNotificationRecord = (u: unknown): u is NotificationRecord => {
  if (!isObject(u)) return false
  const { s3 } = u
  if (
    u.eventSource !== "aws:s3" ||
    typeof u.eventVersion !== "string" ||
    !/^2\.\d+$/.test(u.eventVersion) ||
    typeof u.eventTime !== "string" ||
    typeof u.eventName !== "string" ||
    !optionalString(u.awsRegion) ||
    !isObject(s3)
  )
    return false
  const { bucket, object } = s3
  return (
    isObject(bucket) &&
    typeof bucket.name === "string" &&
    optionalString(bucket.arn) &&
    isObject(object) &&
    typeof object.key === "string" &&
    (object.size === undefined || typeof object.size === "number") &&
    optionalString(object.eTag) &&
    optionalString(object.versionId) &&
    optionalString(object.sequencer)
  )
}

// Built on first use (then it replaces itself): the common record passes `isPlainNotificationRecord`.
let decodeRecordSchema = (input: unknown): Either.Either<NotificationRecord, ParseResult.ParseError> => {
  decodeRecordSchema = Schema.decodeUnknownEither(NotificationRecord)
  return decodeRecordSchema(input)
}

/** Decodes one record of a direct S3 notification (`Records[i]`). */
export const decodeNotificationRecord = (
  input: unknown,
  where: Where,
  source: Source = "s3",
): Either.Either<EventRecord, MalformedEventError> => {
  const decoded = isPlainNotificationRecord(input) ? Either.right(input) : decodeRecordSchema(input)
  if (Either.isLeft(decoded))
    return Either.left(malformed(where, "InvalidRecord", formatIssue(decoded.left), decoded.left))
  const record = decoded.right
  const object = record.s3.object
  const key = S3Key.decodeEventKey(object.key)
  if (Either.isLeft(key)) return Either.left(malformed(where, "InvalidKey", key.left.message, key.left))
  const eventTimeMillis = eventTimeOf(where, record.eventTime)
  if (Either.isLeft(eventTimeMillis)) return Either.left(eventTimeMillis.left)
  return Either.right({
    source,
    location: where.location,
    bucket: record.s3.bucket.name,
    key: key.right,
    rawKey: object.key,
    eventName: record.eventName,
    eventType: eventTypeOf(record.eventName),
    sequencer: sequencerOf(object.sequencer),
    eventTime: record.eventTime,
    eventTimeMillis: eventTimeMillis.right,
    ...optionalFields({
      messageId: where.messageId,
      rawSequencer: object.sequencer,
      etag: object.eTag,
      size: object.size,
    }),
  })
}

/** Decodes an EventBridge S3 event. Its key is not URL-encoded and is used as it is. */
export const decodeEventBridge = (
  input: unknown,
  where: Where,
  source: Source = "eventbridge",
): Either.Either<EventRecord, MalformedEventError> =>
  Either.gen(function* () {
    const event = yield* Either.mapLeft(Schema.decodeUnknownEither(EventBridgeEvent)(input), (e) =>
      malformed(where, "InvalidRecord", formatIssue(e), e),
    )
    const object = event.detail.object
    const eventTimeMillis = yield* eventTimeOf(where, event.time)
    const reason = event.detail.reason
    return {
      source,
      location: where.location,
      bucket: event.detail.bucket.name,
      key: object.key,
      rawKey: object.key,
      eventName: reason === undefined ? event["detail-type"] : `${event["detail-type"]} (${reason})`,
      eventType: eventBridgeTypeOf(event["detail-type"]),
      sequencer: sequencerOf(object.sequencer),
      eventTime: event.time,
      eventTimeMillis,
      ...optionalFields({
        messageId: where.messageId,
        rawSequencer: object.sequencer,
        etag: object.etag,
        size: object.size,
      }),
    }
  })

const isNotification = (u: unknown): u is { Records: ReadonlyArray<unknown> } => isObject(u) && Array.isArray(u.Records)
const isEventBridge = (u: unknown): boolean => isObject(u) && typeof u["detail-type"] === "string" && "detail" in u
const isSqsEvent = (u: unknown): boolean =>
  isNotification(u) && u.Records.length > 0 && u.Records.some((r) => isObject(r) && r.eventSource === "aws:sqs")

const recordsOf = (records: ReadonlyArray<unknown>, prefix: string, source: Source, messageId?: string) =>
  records.map((record, index): Entry => {
    const where: Where = {
      location: `${prefix}Records[${index}]`,
      ...(messageId !== undefined ? { messageId } : {}),
    }
    return Either.match(decodeNotificationRecord(record, where, source), {
      onLeft: (error) => ({ _tag: "Malformed", error }),
      onRight: (r) => ({ _tag: "Record", record: r }),
    })
  })

/** Decodes the body of one SQS message: an S3 notification, an S3 test event, SNS-wrapped, or EventBridge. */
const decodeSqsBody = (body: unknown, where: Where & { readonly messageId: string }, depth = 0): Array<Entry> => {
  const prefix = `${where.location} `
  // Only a body from "Amazon S3" can be its test event: the others skip the schema.
  if (isObject(body) && body.Service === "Amazon S3" && Either.isRight(Schema.decodeUnknownEither(TestEvent)(body))) {
    return [{ _tag: "TestEvent", location: where.location, messageId: where.messageId }]
  }
  if (isNotification(body)) return recordsOf(body.Records, prefix, "sqs", where.messageId)
  if (isEventBridge(body)) {
    return [
      Either.match(decodeEventBridge(body, where, "sqs"), {
        onLeft: (error): Entry => ({ _tag: "Malformed", error }),
        onRight: (record): Entry => ({ _tag: "Record", record }),
      }),
    ]
  }
  const sns = Schema.decodeUnknownEither(SnsEnvelope)(body)
  if (Either.isRight(sns) && depth === 0) {
    const inner = parseJson(sns.right.Message)
    if (Either.isRight(inner)) return decodeSqsBody(inner.right, where, depth + 1)
  }
  return [
    {
      _tag: "Malformed",
      error: malformed(
        where,
        "InvalidBody",
        "the message body is neither an S3 notification ({Records: [...]}), an S3 test event, nor an EventBridge S3 event",
      ),
    },
  ]
}

/** The common valid shape of an {@link SqsRecord}, by hand (as {@link isPlainNotificationRecord}); else the schema. */
const decodeSqsShape = (raw: unknown): Either.Either<typeof SqsRecord.Type, ParseResult.ParseError> =>
  isObject(raw) && raw.eventSource === "aws:sqs" && typeof raw.messageId === "string" && typeof raw.body === "string"
    ? Either.right(raw as typeof SqsRecord.Type)
    : Schema.decodeUnknownEither(SqsRecord)(raw)

const parseJson = (text: string): Either.Either<unknown, unknown> =>
  Either.try({ try: () => JSON.parse(text) as unknown, catch: (e) => e })

/**
 * Decodes any supported event. Fails only when the event as a whole has no
 * known shape; a bad record is a `Malformed` entry beside the good ones.
 *
 * @example
 * ```ts
 * const decoded = S3Event.decode(JSON.parse(fs.readFileSync("event.json", "utf8")))
 * // Right({ source: "s3", entries: [{ _tag: "Record", record: { key: "changes/CHG-1.json", ... } }] })
 * ```
 */
export const decode = (input: unknown): Either.Either<Decoded, MalformedEventError> => {
  if (isSqsEvent(input)) {
    const records = (input as { Records: ReadonlyArray<unknown> }).Records
    const messageIds: Array<string> = []
    const entries = records.flatMap((raw, index): Array<Entry> => {
      const sqs = decodeSqsShape(raw)
      if (Either.isLeft(sqs)) {
        const id = isObject(raw) && typeof raw.messageId === "string" ? raw.messageId : undefined
        if (id !== undefined) messageIds.push(id)
        const where: Where = { location: `Records[${index}]`, ...(id !== undefined ? { messageId: id } : {}) }
        return [{ _tag: "Malformed", error: malformed(where, "InvalidRecord", formatIssue(sqs.left), sqs.left) }]
      }
      const { messageId, body } = sqs.right
      messageIds.push(messageId)
      const where = { location: `SQS message ${messageId}`, messageId }
      const parsed = parseJson(body)
      if (Either.isLeft(parsed)) {
        return [
          { _tag: "Malformed", error: malformed(where, "InvalidBody", "the message body is not JSON", parsed.left) },
        ]
      }
      return decodeSqsBody(parsed.right, where)
    })
    return Either.right({ source: "sqs", entries, messageIds })
  }
  if (isNotification(input)) {
    return Either.right({ source: "s3", entries: recordsOf(input.Records, "", "s3"), messageIds: [] })
  }
  if (isEventBridge(input)) {
    const id = isObject(input) && typeof input.id === "string" ? input.id : "(no id)"
    const entry = Either.match(decodeEventBridge(input, { location: `EventBridge event ${id}` }), {
      onLeft: (error): Entry => ({ _tag: "Malformed", error }),
      onRight: (record): Entry => ({ _tag: "Record", record }),
    })
    return Either.right({ source: "eventbridge", entries: [entry], messageIds: [] })
  }
  return Either.left(
    new MalformedEventError({
      reason: "UnknownShape",
      location: "event",
      detail:
        "not an S3 notification ({Records: [{eventSource: 'aws:s3', ...}]}), an SQS event ({Records: [{eventSource: 'aws:sqs', body}]}) or an EventBridge S3 event ({source: 'aws.s3', 'detail-type', detail})",
    }),
  )
}

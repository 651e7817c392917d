/**
 * S3 event notifications for the local stack, as a deployed bucket notification
 * would deliver them (DESIGN section 8): neither emulator emits events, so every
 * object created or deleted in the S3 emulator, by Docket or by any other client
 * pointed at its endpoint (the AWS CLI, say), becomes an event in the real
 * format: `{ Records: [{ eventVersion: "2.1", eventSource: "aws:s3", eventName:
 * "ObjectCreated:Put", s3: { bucket, object: { key (URL-encoded), size, eTag,
 * sequencer } } }] }`, with a sequencer that grows with every change.
 *
 * Events are delivered asynchronously, shortly after the response, and never
 * block the request. Feed them to core's event sync with
 * `S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))`.
 *
 * This package does not depend on `@docket/core` (beyond the table definition),
 * so the URL encoding of keys is written here; core's `S3Key.decodeEventKey` is
 * its inverse and a test checks the round trip.
 *
 * @since 0.1.0
 */
import type * as LocalStack from "./LocalStack.js"

/** One record of an S3 event notification (event message structure 2.1). */
export interface NotificationRecord {
  readonly eventVersion: "2.1"
  readonly eventSource: "aws:s3"
  readonly awsRegion: string
  readonly eventTime: string
  readonly eventName: string
  readonly userIdentity: { readonly principalId: string }
  readonly requestParameters: { readonly sourceIPAddress: string }
  readonly responseElements: { readonly "x-amz-request-id": string; readonly "x-amz-id-2": string }
  readonly s3: {
    readonly s3SchemaVersion: "1.0"
    readonly configurationId: string
    readonly bucket: {
      readonly name: string
      readonly ownerIdentity: { readonly principalId: string }
      readonly arn: string
    }
    readonly object: {
      readonly key: string
      readonly size?: number
      readonly eTag?: string
      readonly sequencer: string
    }
  }
}

/** An S3 event notification: what S3 sends to a Lambda (one record per change). */
export interface S3Notification {
  readonly Records: ReadonlyArray<NotificationRecord>
}

/**
 * Encodes a key the way S3 event notifications do: percent-encoding of UTF-8,
 * a space as `+`, `/` kept. Decoding is `+` to space, then percent-decoding.
 */
export const encodeKey = (key: string): string =>
  encodeURIComponent(key)
    .replace(/%20/g, "+")
    .replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

let lastSequencer = 0n

/**
 * The next sequencer: upper-case hex that grows with every call in this process
 * (milliseconds since the epoch, shifted, plus a counter), 18 digits like S3's.
 */
export const nextSequencer = (): string => {
  const now = BigInt(Date.now()) << 20n
  lastSequencer = now > lastSequencer ? now : lastSequencer + 1n
  return lastSequencer.toString(16).toUpperCase().padStart(18, "0")
}

let requestCounter = 0

/** The real-format notification of one object change, with the given sequencer. */
export const toNotification = (
  change: LocalStack.ObjectChange,
  options: { readonly region: string; readonly sequencer: string },
): S3Notification => {
  requestCounter += 1
  const operation = change.operation ?? (change.type === "created" ? "Put" : "Delete")
  const requestId = requestCounter.toString(16).toUpperCase().padStart(16, "0")
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: options.region,
        eventTime: change.time.toISOString(),
        eventName: change.type === "created" ? `ObjectCreated:${operation}` : "ObjectRemoved:Delete",
        userIdentity: { principalId: "docket-local" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": requestId, "x-amz-id-2": `docket-local/${requestId}` },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "docket-local",
          bucket: {
            name: change.bucket,
            ownerIdentity: { principalId: "docket-local" },
            arn: `arn:aws:s3:::${change.bucket}`,
          },
          object: {
            key: encodeKey(change.key),
            ...(change.type === "created" && change.size !== undefined ? { size: change.size } : {}),
            ...(change.type === "created" && change.etag !== undefined ? { eTag: change.etag } : {}),
            sequencer: options.sequencer,
          },
        },
      },
    ],
  }
}

/** Options of {@link subscribe}. */
export interface SubscribeOptions {
  /** Delay before delivery, in milliseconds (default 0: the next turn of the event loop). */
  readonly delayMs?: number
}

/**
 * Calls `listener` with a real-format S3 notification for every object created
 * or deleted in `bucket` (every bucket when `undefined`), asynchronously after
 * the request. The sequencer is taken when the change happens, so it follows
 * the order in which the emulator applied the changes. Returns the unsubscribe
 * function; nothing is delivered after it is called.
 *
 * @example
 * ```ts
 * const unsubscribe = Notifications.subscribe(stack, "docs", (event) => console.log(JSON.stringify(event)))
 * ```
 */
export const subscribe = (
  stack: Pick<LocalStack.Stack, "onObjectChange" | "region">,
  bucket: string | undefined,
  listener: (event: S3Notification) => void,
  options: SubscribeOptions = {},
): (() => void) => {
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let active = true
  const unsubscribeStack = stack.onObjectChange((change) => {
    if (!active || (bucket !== undefined && change.bucket !== bucket)) return
    const event = toNotification(change, { region: stack.region, sequencer: nextSequencer() })
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!active) return
      try {
        listener(event)
      } catch (error) {
        // A listener's bug must not break the emulator's request handling.
        console.error("docket local notifications: listener failed", error)
      }
    }, options.delayMs ?? 0)
    timers.add(timer)
  })
  return () => {
    active = false
    unsubscribeStack()
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
  }
}

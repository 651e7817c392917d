/**
 * SQS delivery for the local stack, the way the recommended deployment runs
 * (`delivery = "sqs"` in infra/terraform/modules/sync-lambda): every object
 * created or deleted in the S3 emulator becomes a real-format S3 notification
 * (see `Notifications`) sent as a message to a real SQS queue in the same
 * emulator (fauxqs serves SQS beside S3), and pollers consume the queue the way
 * Lambda's event source mapping does:
 *
 * - batches of up to `batchSize` messages, gathered for up to
 *   `maximumBatchingWindowMs`, handed to the handler as Lambda's SQS event
 *   (`{ Records: [{ messageId, receiptHandle, body, attributes, eventSource:
 *   "aws:sqs", eventSourceARN, ... }] }`);
 * - `ReportBatchItemFailures`: the messages the handler names in
 *   `batchItemFailures` stay on the queue, the others are deleted; a handler
 *   that throws, or a response naming an unknown or empty message id, fails
 *   the whole batch (Lambda's rules), and nothing is deleted;
 * - a message not deleted becomes visible again after the queue's visibility
 *   timeout and is received again; after `maxReceiveCount` receives the queue
 *   moves it to the dead-letter queue (its redrive policy: the emulator does
 *   this, as SQS does).
 *
 * @example
 * ```ts
 * const delivery = await SqsDelivery.start(stack, "docs", (event) => handler(event))
 * // ... writes by anyone ...
 * await delivery.idle()
 * await delivery.stop()
 * ```
 *
 * @since 0.1.0
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as LocalStack from "./LocalStack.js"
import * as Notifications from "./Notifications.js"

/** One message of Lambda's SQS event. */
export interface SqsMessageRecord {
  readonly messageId: string
  readonly receiptHandle: string
  readonly body: string
  readonly attributes: {
    readonly ApproximateReceiveCount: string
    readonly SentTimestamp: string
    readonly SenderId: string
    readonly ApproximateFirstReceiveTimestamp: string
  }
  readonly messageAttributes: Record<string, never>
  readonly md5OfBody: string
  readonly eventSource: "aws:sqs"
  readonly eventSourceARN: string
  readonly awsRegion: string
}

/** Lambda's SQS event. */
export interface SqsEvent {
  readonly Records: ReadonlyArray<SqsMessageRecord>
}

/** What a handler answers with `ReportBatchItemFailures`. */
export interface BatchResponse {
  readonly batchItemFailures?: ReadonlyArray<{ readonly itemIdentifier: string }> | null
}

/** The function the pollers invoke, as Lambda would. */
export type Handler = (event: SqsEvent) => Promise<BatchResponse | null | undefined>

/** What happened to one batch. */
export interface BatchOutcome {
  readonly messageIds: ReadonlyArray<string>
  /** Messages left on the queue: the reported failures, or all of them when the batch failed. */
  readonly retried: ReadonlyArray<string>
  /** Why the whole batch failed (the handler threw, or its response was invalid). */
  readonly error?: string
}

/** Options of {@link start}. Defaults are the Terraform module's, scaled down for a laptop. */
export interface Options {
  /** The events queue (default `{bucket}-events`); its dead-letter queue is `{queueName}-dlq`. */
  readonly queueName?: string
  /** Messages per batch, 1-10000 (default 10). */
  readonly batchSize?: number
  /** How long a batch is gathered before the handler runs (default 0: what one receive returns). */
  readonly maximumBatchingWindowMs?: number
  /** The queue's visibility timeout: when an unprocessed message comes back (default 30 s). */
  readonly visibilityTimeoutSeconds?: number
  /** Receives before a message moves to the dead-letter queue (default 5). */
  readonly maxReceiveCount?: number
  /** Concurrent pollers, each running one batch at a time (default 2). */
  readonly pollers?: number
  /** Long-poll wait of each receive (default 1 s, so stopping is quick). */
  readonly waitTimeSeconds?: number
  /** Called after every batch. */
  readonly onBatch?: (outcome: BatchOutcome) => void
}

/** A running delivery. */
export interface Delivery {
  readonly queueUrl: string
  readonly queueArn: string
  readonly dlqUrl: string
  readonly dlqArn: string
  /** Messages visible, in flight (received, not deleted) and in the dead-letter queue. */
  readonly counts: () => Promise<{ readonly visible: number; readonly inFlight: number; readonly deadLettered: number }>
  /**
   * Resolves once every change so far has been sent and the queue is empty
   * (nothing visible or in flight, no batch running): every message was
   * processed or dead-lettered. Rejects after `timeoutMs` (default 60 s).
   */
  readonly idle: (timeoutMs?: number) => Promise<void>
  /** Stops sending and polling; waits for running batches. Idempotent. */
  readonly stop: () => Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const toRecord = (message: Message, queueArn: string, region: string): SqsMessageRecord => ({
  messageId: message.MessageId ?? "",
  receiptHandle: message.ReceiptHandle ?? "",
  body: message.Body ?? "",
  attributes: {
    ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
    SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
    SenderId: message.Attributes?.SenderId ?? "000000000000",
    ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: message.MD5OfBody ?? "",
  eventSource: "aws:sqs",
  eventSourceARN: queueArn,
  awsRegion: region,
})

/**
 * The messages to keep from a handler's answer, Lambda's way: nothing
 * (`undefined`, `null`, no or an empty `batchItemFailures`) is success;
 * a failure naming an empty or unknown message id fails the whole batch.
 */
export const retainedBy = (
  response: unknown,
  messageIds: ReadonlyArray<string>,
): { readonly retained: ReadonlyArray<string> } | { readonly invalid: string } => {
  if (response === undefined || response === null) return { retained: [] }
  if (typeof response !== "object" || Array.isArray(response)) {
    return { invalid: `the handler answered ${JSON.stringify(response)}, not { batchItemFailures }` }
  }
  const failures = (response as BatchResponse).batchItemFailures
  if (failures === undefined || failures === null) return { retained: [] }
  if (!Array.isArray(failures)) return { invalid: "batchItemFailures is not a list" }
  const known = new Set(messageIds)
  const retained: Array<string> = []
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier
    if (typeof id !== "string" || id === "" || !known.has(id)) {
      return { invalid: `batchItemFailures names ${JSON.stringify(id)}, not a message of this batch` }
    }
    retained.push(id)
  }
  return { retained }
}

/** A running delivery's client, queues, settings and counters; every step below reads it. */
interface Running {
  readonly client: SQSClient
  readonly queueUrl: string
  readonly queueArn: string
  readonly dlqUrl: string
  readonly region: string
  readonly handler: Handler
  readonly onBatch: Options["onBatch"]
  readonly batchSize: number
  readonly windowMs: number
  readonly waitTimeSeconds: number
  readonly sends: Set<Promise<unknown>>
  stopped: boolean
  /** Notifications being sent. */
  sending: number
  /** Batches being handled. */
  running: number
}

const arnOf = async (client: SQSClient, url: string) =>
  (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))).Attributes
    ?.QueueArn ?? ""

/** The dead-letter queue, then the events queue redriving to it. */
const createQueues = async (client: SQSClient, queueName: string, visibility: number, maxReceiveCount: number) => {
  const dlqUrl = (await client.send(new CreateQueueCommand({ QueueName: `${queueName}-dlq` }))).QueueUrl ?? ""
  const dlqArn = await arnOf(client, dlqUrl)
  const queueUrl =
    (
      await client.send(
        new CreateQueueCommand({
          QueueName: queueName,
          Attributes: {
            VisibilityTimeout: String(visibility),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
          },
        }),
      )
    ).QueueUrl ?? ""
  const queueArn = await arnOf(client, queueUrl)
  return { dlqUrl, dlqArn, queueUrl, queueArn }
}

/** Sends one change's notification to the queue (counted in `sending` until it is sent). */
const forward = (r: Running, notification: unknown) => {
  if (r.stopped) return
  r.sending += 1
  const sent = r.client
    .send(new SendMessageCommand({ QueueUrl: r.queueUrl, MessageBody: JSON.stringify(notification) }))
    .catch((error) => console.error("docket local sqs: SendMessage failed", error))
    .finally(() => {
      r.sending -= 1
      r.sends.delete(sent)
    })
  r.sends.add(sent)
}

const receive = async (r: Running, max: number): Promise<Array<Message>> => {
  const received = await r.client.send(
    new ReceiveMessageCommand({
      QueueUrl: r.queueUrl,
      MaxNumberOfMessages: Math.min(10, max),
      WaitTimeSeconds: r.waitTimeSeconds,
      MessageSystemAttributeNames: ["All"],
    }),
  )
  return received.Messages ?? []
}

/** One batch: up to batchSize messages within the window. */
const gather = async (r: Running): Promise<Array<Message>> => {
  const batch = await receive(r, r.batchSize)
  if (batch.length === 0) return batch
  const deadline = Date.now() + r.windowMs
  while (batch.length < r.batchSize && Date.now() < deadline && !r.stopped) {
    const more = await r.client.send(
      new ReceiveMessageCommand({
        QueueUrl: r.queueUrl,
        MaxNumberOfMessages: Math.min(10, r.batchSize - batch.length),
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ["All"],
      }),
    )
    if ((more.Messages ?? []).length === 0) await sleep(Math.min(20, Math.max(0, deadline - Date.now())))
    batch.push(...(more.Messages ?? []))
  }
  return batch
}

/** Invokes the handler on one batch and deletes the messages it did not report as failed. */
const runBatch = async (r: Running, batch: Array<Message>) => {
  const records = batch.map((m) => toRecord(m, r.queueArn, r.region))
  const messageIds = records.map((record) => record.messageId)
  let outcome: BatchOutcome
  try {
    const answer = retainedBy(await r.handler({ Records: records }), messageIds)
    if ("invalid" in answer) {
      outcome = { messageIds, retried: messageIds, error: answer.invalid }
    } else {
      const keep = new Set(answer.retained)
      const done = records.filter((record) => !keep.has(record.messageId))
      for (let i = 0; i < done.length; i += 10) {
        await r.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: r.queueUrl,
            Entries: done.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.receiptHandle })),
          }),
        )
      }
      outcome = { messageIds, retried: answer.retained }
    }
  } catch (error) {
    outcome = { messageIds, retried: messageIds, error: error instanceof Error ? error.message : String(error) }
  }
  r.onBatch?.(outcome)
}

/** One poller: gathers and runs batches until stopped. */
const poll = async (r: Running) => {
  while (!r.stopped) {
    try {
      const batch = await gather(r)
      if (batch.length === 0) continue
      r.running += 1
      try {
        await runBatch(r, batch)
      } finally {
        r.running -= 1
      }
    } catch (error) {
      if (r.stopped) break
      console.error("docket local sqs: poll failed", error)
      await sleep(200)
    }
  }
}

const queueCounts = async (r: Running) => {
  const attributes = async (url: string) =>
    (
      await r.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      )
    ).Attributes ?? {}
  const [queue, dlq] = await Promise.all([attributes(r.queueUrl), attributes(r.dlqUrl)])
  return {
    visible: Number(queue.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(queue.ApproximateNumberOfMessagesNotVisible ?? 0),
    deadLettered: Number(dlq.ApproximateNumberOfMessages ?? 0),
  }
}

const untilIdle = async (r: Running, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  // A change's notification follows its write by a moment: wait for a short quiet period too.
  await sleep(50)
  for (;;) {
    await Promise.all([...r.sends])
    if (r.sending === 0 && r.running === 0) {
      const c = await queueCounts(r)
      if (c.visible === 0 && c.inFlight === 0 && r.sending === 0 && r.running === 0) return
    }
    if (Date.now() > deadline) throw new Error(`the local SQS delivery did not drain within ${timeoutMs} ms`)
    await sleep(25)
  }
}

/**
 * Creates the events queue (visibility timeout, redrive policy to its
 * dead-letter queue) in the stack's emulator, sends every change of `bucket`
 * to it, and starts the pollers that invoke `handler`. The steps are named
 * functions above (`createQueues`, `forward`, `gather`, `runBatch`, `poll`,
 * `queueCounts`, `untilIdle`) over one `Running` record.
 */
export const start = async (
  stack: Pick<LocalStack.Stack, "onObjectChange" | "region" | "s3Endpoint" | "credentials">,
  bucket: string,
  handler: Handler,
  options: Options = {},
): Promise<Delivery> => {
  const visibility = Math.max(0, Math.min(43_200, options.visibilityTimeoutSeconds ?? 30))
  const maxReceiveCount = Math.max(1, options.maxReceiveCount ?? 5)
  const queueName = options.queueName ?? `${bucket}-events`
  // The explicit endpoint keeps the client off the queue URL's host name (sqs.<region>.localhost).
  const client = new SQSClient({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials })
  const { dlqUrl, dlqArn, queueUrl, queueArn } = await createQueues(client, queueName, visibility, maxReceiveCount)
  const r: Running = {
    client,
    queueUrl,
    queueArn,
    dlqUrl,
    region: stack.region,
    handler,
    onBatch: options.onBatch,
    batchSize: Math.max(1, Math.min(10_000, options.batchSize ?? 10)),
    windowMs: Math.max(0, options.maximumBatchingWindowMs ?? 0),
    waitTimeSeconds: Math.max(0, Math.min(20, options.waitTimeSeconds ?? 1)),
    sends: new Set<Promise<unknown>>(),
    stopped: false,
    sending: 0,
    running: 0,
  }
  const unsubscribe = Notifications.subscribe(stack, bucket, (notification) => forward(r, notification))
  const pollers = Array.from({ length: Math.max(1, options.pollers ?? 2) }, () => poll(r))

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      r.stopped = true
      unsubscribe()
      await Promise.all([...r.sends])
      await Promise.all(pollers)
      client.destroy()
    })()
    return stopping
  }

  return {
    queueUrl,
    queueArn,
    dlqUrl,
    dlqArn,
    counts: () => queueCounts(r),
    idle: (timeoutMs) => untilIdle(r, timeoutMs),
    stop,
  }
}

/** The queues could not be created in the emulator. */
export class SqsDeliveryError extends Data.TaggedError("SqsDeliveryError")<{
  readonly reason: "QueuesNotCreated"
  readonly queueName: string
  readonly cause?: unknown
}> {
  override get message() {
    return `The local SQS delivery could not create its queues (${this.queueName}): ${String(this.cause)}`
  }
}

/** {@link start} in a scope: the delivery stops when the scope closes. */
export const scoped = (
  stack: Parameters<typeof start>[0],
  bucket: string,
  handler: Handler,
  options: Options = {},
): Effect.Effect<Delivery, SqsDeliveryError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => start(stack, bucket, handler, options),
      catch: (cause) =>
        new SqsDeliveryError({
          reason: "QueuesNotCreated",
          queueName: options.queueName ?? `${bucket}-events`,
          cause,
        }),
    }),
    (delivery) => Effect.promise(() => delivery.stop()),
  )

/**
 * The model behind the event-sync convergence property (DESIGN invariant 2),
 * shared by the memory run and the local-stack run: random puts, updates and
 * deletes on a few keys under a prefix with spaces, `+` and unicode; each
 * change's event delivered one to three times, each copy delayed by a random
 * number of steps (a long delay is a record dropped and redelivered late), the
 * copies due at a step delivered together in a random order, everything still
 * pending delivered at the end. About one lifecycle expiration in four carries no
 * sequencer ("re-read S3", DESIGN section 6), including records in flight while S3
 * changes and a newer event completes.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Document from "../src/Document.js"
import type * as DocumentCache from "../src/DocumentCache.js"
import type * as DocumentStore from "../src/DocumentStore.js"
import * as S3Key from "../src/S3Key.js"

/** Keys with spaces, `+` and unicode (ids are `[A-Za-z0-9-]`, so the prefix carries them). */
export const prefix = "tenant a+b/é ü 😀/"

const targets = [
  { kind: "change", id: "CHG-a" },
  { kind: "change", id: "CHG-b-2" },
  { kind: "announcement", id: "ANN-c" },
] as const

/** A valid document of target `index`. */
export const document = (index: number, version: number, title: string): Document.AnyDocument => {
  const target = targets[index % targets.length]!
  return target.kind === "change"
    ? {
        kind: "change",
        id: target.id,
        version,
        title,
        customers: ["acme"],
        status: "approved",
        schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
        createdAt: "2026-11-01T10:00:00Z",
        updatedAt: "2026-11-02T10:00:00Z",
      }
    : {
        kind: "announcement",
        id: target.id,
        version,
        type: "maintenance",
        title,
        customers: ["acme", "globex"],
        status: "published",
        publishAt: "2026-11-20T09:00:00Z",
        createdAt: "2026-11-01T10:00:00Z",
        updatedAt: "2026-11-02T10:00:00Z",
      }
}

/** One change to S3 and how its event is delivered. */
export interface Step {
  readonly target: number
  readonly action: "put" | "delete"
  readonly version: number
  readonly title: string
  /** Each copy of the event: delivered `delay` steps later, `order` orders the copies due together. */
  readonly deliveries: ReadonlyArray<{ readonly delay: number; readonly order: number }>
  /** Deletes only: announce it as a lifecycle expiration. */
  readonly lifecycle: boolean
  /**
   * Apply this change while an earlier event is in flight: between that event's
   * read of S3 and its write to the cache (the race sequencers and tombstones
   * exist for).
   */
  readonly midFlight: boolean
  /** With `midFlight`: this change's own event is processed before the in-flight one writes. */
  readonly overtaken: boolean
  /**
   * Lifecycle deletes only: the record carries no sequencer (as lifecycle expirations
   * may not), so sync must re-read S3 and guard on what is stored.
   */
  readonly withoutSequencer: boolean
}

/** A run of the model. */
export interface Scenario {
  readonly steps: ReadonlyArray<Step>
  /** The first sequencer: chosen so that some runs cross a hex digit boundary (F... -> 10...). */
  readonly firstSequencer: bigint
  readonly upperCase: boolean
}

/** Random scenarios. */
export const scenario: fc.Arbitrary<Scenario> = fc.record({
  steps: fc.array(
    fc.record({
      target: fc.integer({ min: 0, max: targets.length - 1 }),
      action: fc.constantFrom("put", "put", "delete"),
      version: fc.integer({ min: 1, max: 4 }),
      title: fc.constantFrom("alpha", "beta", "gamma é", "delta +"),
      deliveries: fc.array(fc.record({ delay: fc.integer({ min: 0, max: 12 }), order: fc.nat(1000) }), {
        minLength: 1,
        maxLength: 3,
      }),
      lifecycle: fc.boolean(),
      midFlight: fc.boolean(),
      overtaken: fc.boolean(),
      withoutSequencer: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    }),
    { minLength: 1, maxLength: 14 },
  ),
  firstSequencer: fc.constantFrom(0x1n, 0xffff8n, 0x0055aed6dcd90281e5n),
  upperCase: fc.boolean(),
})

/** What a notification record says. */
export interface RecordSpec {
  readonly key: string
  readonly sequencer?: string
  readonly eventName?: string
}

/** A direct S3 notification in the real format (keys URL-encoded as S3 does). */
export const notification = (records: ReadonlyArray<RecordSpec>, bucket = "docs") => ({
  Records: records.map((r) => ({
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "us-east-1",
    eventTime: new Date().toISOString(),
    eventName: r.eventName ?? "ObjectCreated:Put",
    userIdentity: { principalId: "test" },
    requestParameters: { sourceIPAddress: "127.0.0.1" },
    responseElements: { "x-amz-request-id": "1", "x-amz-id-2": "2" },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "docket",
      bucket: { name: bucket, ownerIdentity: { principalId: "test" }, arn: `arn:aws:s3:::${bucket}` },
      object: { key: S3Key.encodeEventKey(r.key), ...(r.sequencer !== undefined ? { sequencer: r.sequencer } : {}) },
    },
  })),
})

/** An SQS event whose messages carry the given bodies (JSON-encoded unless already text). */
export const sqs = (messages: ReadonlyArray<readonly [string, unknown]>) => ({
  Records: messages.map(([messageId, body]) => ({
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: typeof body === "string" ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: "1" },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:docket-events",
    awsRegion: "us-east-1",
  })),
})

/** An EventBridge S3 event (keys as they are). */
export const eventBridge = (spec: RecordSpec & { readonly deleted?: boolean }, bucket = "docs") => ({
  version: "0",
  id: `eb-${spec.sequencer ?? "none"}`,
  "detail-type": spec.deleted === true ? "Object Deleted" : "Object Created",
  source: "aws.s3",
  account: "123456789012",
  time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  region: "us-east-1",
  resources: [`arn:aws:s3:::${bucket}`],
  detail: {
    version: "0",
    bucket: { name: bucket },
    object: { key: spec.key, ...(spec.sequencer !== undefined ? { sequencer: spec.sequencer } : {}) },
    "request-id": "r",
    requester: "123456789012",
    reason: spec.deleted === true ? "DeleteObject" : "PutObject",
  },
})

/**
 * A store whose next `getKey` runs a hook after reading: the sync under test
 * uses `store`, and the model sets `afterNextRead` to change S3 while a record
 * is in flight.
 */
export const withReadHook = (store: DocumentStore.Service) => {
  let hook: Effect.Effect<void> | undefined
  const wrapped: DocumentStore.Service = {
    ...store,
    getKey: (key) =>
      Effect.tap(store.getKey(key), () => {
        const run = hook
        hook = undefined
        return run ?? Effect.void
      }),
  }
  return {
    store: wrapped,
    afterNextRead: (effect: Effect.Effect<void>) => {
      hook = effect
    },
    /** Takes back a hook no read consumed. */
    takeHook: (): Effect.Effect<void> | undefined => {
      const run = hook
      hook = undefined
      return run
    },
  }
}

/**
 * Plays a scenario: applies each step to S3 through `store`, and hands the
 * events due at each step (then the late ones) to `process`, a batch at a time.
 * With `hooks` (see {@link withReadHook}), `midFlight` steps are applied between
 * an in-flight event's read of S3 and its write.
 */
export const run = <E, R>(
  scenario: Scenario,
  options: {
    readonly store: DocumentStore.Service
    readonly process: (event: unknown) => Effect.Effect<unknown, E, R>
    readonly hooks?: ReturnType<typeof withReadHook>
    /** Largest batch when flushing the late events (default 4). */
    readonly batch?: number
    /** The bucket the events name (default `docs`). */
    readonly bucket?: string
  },
): Effect.Effect<void, E | DocumentStore.StoreError, R> =>
  Effect.gen(function* () {
    const { store, process, hooks } = options
    let sequencer = scenario.firstSequencer
    const pending: Array<{ readonly spec: RecordSpec; readonly due: number; readonly order: number }> = []
    const deliver = (due: ReadonlyArray<(typeof pending)[number]>) =>
      due.length === 0
        ? Effect.void
        : Effect.asVoid(
            process(
              notification(
                due.map((p) => p.spec),
                options.bucket,
              ),
            ),
          )
    for (const [t, step] of scenario.steps.entries()) {
      const doc = document(step.target, step.version, step.title)
      const key = store.keyOf(doc.kind, doc.id)
      sequencer += 1n + BigInt(t % 3)
      const hex = sequencer.toString(16)
      const spec: RecordSpec = {
        key,
        // Not when it overtakes an older record in flight: with nothing to order them, that
        // record's stale write can land last (a limit of records without a sequencer).
        ...(step.withoutSequencer && step.action === "delete" && step.lifecycle && !(step.midFlight && step.overtaken)
          ? {}
          : { sequencer: scenario.upperCase ? hex.toUpperCase() : hex }),
        eventName:
          step.action === "put"
            ? "ObjectCreated:Put"
            : step.lifecycle
              ? "LifecycleExpiration:Delete"
              : "ObjectRemoved:Delete",
      }
      const apply = step.action === "put" ? Effect.asVoid(store.put(doc)) : store.delete(doc.kind, doc.id)
      const inFlight = pending.find((p) => p.spec.key === key)
      const midFlight = hooks !== undefined && step.midFlight && inFlight !== undefined
      if (midFlight) {
        // inFlight reads S3, then this change happens (and, when overtaken, its own
        // event is processed in full), then inFlight writes what it read.
        pending.splice(pending.indexOf(inFlight), 1)
        const during = step.overtaken ? Effect.zipRight(apply, deliver([{ spec, due: t, order: 0 }])) : apply
        hooks.afterNextRead(Effect.orDie(during) as Effect.Effect<void>)
        yield* deliver([inFlight])
        const unused = hooks.takeHook()
        if (unused !== undefined) yield* unused
      } else {
        yield* apply
      }
      // An overtaking event was delivered once already (at least once is all S3 promises).
      if (!(midFlight && step.overtaken)) {
        for (const d of step.deliveries) pending.push({ spec, due: t + d.delay, order: d.order })
      }
      const now = pending.filter((p) => p.due <= t).sort((a, b) => a.order - b.order)
      for (const p of now) pending.splice(pending.indexOf(p), 1)
      yield* deliver(now)
    }
    const late = pending.sort((a, b) => a.due - b.due || a.order - b.order)
    const size = options.batch ?? 4
    for (let i = 0; i < late.length; i += size) yield* deliver(late.slice(i, i + size))
  })

/** Asserts the cache equals S3 for every target: same content, or no live document where S3 has none. */
export const expectConverged = (
  store: DocumentStore.Service,
  cache: DocumentCache.Service,
): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    for (const target of targets) {
      const s3 = yield* store.get(target.kind, target.id)
      const cached = yield* cache.get(target.kind, target.id)
      const label = `${target.kind}/${target.id}`
      if (Option.isNone(s3)) {
        expect(Option.isNone(cached) || cached.value._tag === "Tombstone", `${label}: S3 has none`).toBe(true)
      } else {
        expect(Option.isSome(cached) && cached.value._tag, `${label}: S3 has one`).toBe("Cached")
        const document = Option.isSome(cached) && cached.value._tag === "Cached" ? cached.value.document : undefined
        expect(Document.sameContent(document, s3.value.document), `${label}: same content`).toBe(true)
      }
    }
  })

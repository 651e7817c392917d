/**
 * The steps of the S3 store (`DocumentStore/S3.ts` builds the {@link S3Store}
 * once and binds them): `timed` (one attempt under the attempt timeout), `call`
 * (attempts logged, retried, one log line for the whole), `keyOf`, and one named
 * function per operation (`put`, `getKey`, `head`, `remove`; `list` is in
 * `s3List.ts`, loaded only by a store that lists).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as Document from "../Document.js"
import type * as DocumentKind from "../DocumentKind.js"
import {
  contentType,
  type DeleteConditions,
  type ObjectInfo,
  type PutConditions,
  pastDeadline,
  type StoredDocument,
  StoreError,
  withinDeadline,
} from "../DocumentStore.js"
import * as OperationLog from "../OperationLog.js"
import type * as Retry from "../Retry.js"
import * as S3Key from "../S3Key.js"
import { asAbortSignal, LightController } from "./abort.js"
import { decodeBody, decodeMetadata, encodeBody, encodeMetadata, metadataOf, normalizeEtag } from "./objectCodec.js"
import { destroy, readBody } from "./readBody.js"
import { isNotFound, sendThen, toStoreError } from "./s3Client.js"

/** The S3 store's client and settings, built once per layer; every step reads it. */
export interface S3Store {
  readonly client: S3Client
  readonly registry: DocumentKind.Registry
  readonly bucket: string
  readonly prefix: string
  readonly attemptTimeout: Duration.Duration
  readonly attemptTimeoutMillis: number
  readonly maxBytes: number
  readonly pageSize: number
  readonly conditionalWrites: boolean
  readonly encoder: InstanceType<typeof TextEncoder>
  readonly retrying: ReturnType<typeof Retry.retrying>
}

/** The quoted form of an ETag, as HTTP conditional headers carry it. */
const quoted = (etag: string) => `"${normalizeEtag(etag)}"`

/**
 * One attempt of `run`, given the abort controller of its SDK command (a light one, `abort.ts`:
 * not an `EventTarget`, which costs more per attempt than the rest of this plumbing): after the attempt
 * timeout the controller aborts (the request, or the body being read) and the attempt fails as
 * `Timeout`; interrupting the fiber aborts it too; a throttled attempt is counted in
 * `Throttles`. A native timer, not `Effect.timeoutFail`,
 * which forks two fibers per call (measured: ~50 us a call, more than the rest of the plumbing).
 *
 * With a `deadline` (epoch ms of effect's `Clock`, see `DocumentStore.Deadline`) the timer is the
 * earlier of the two, and an attempt cut off by the deadline, or one that would start at or after
 * it, fails with `pastDeadline`: the request is never in flight past the deadline.
 */
export const timed = <A, R>(
  s3: S3Store,
  operation: string,
  key: string,
  run: (controller: LightController) => Effect.Effect<A, StoreError, R>,
  deadline?: number,
): Effect.Effect<A, StoreError, R> =>
  Effect.clockWith((clock) => {
    const left = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - clock.unsafeCurrentTimeMillis()
    if (left <= 0) return Effect.fail(pastDeadline(operation, key, left))
    const byDeadline = left < s3.attemptTimeoutMillis
    const controller = new LightController()
    let timedOut = false
    const timer = setTimeout(
      () => {
        timedOut = true
        controller.abort()
      },
      byDeadline ? left : s3.attemptTimeoutMillis,
    )
    timer.unref?.()
    return Effect.matchEffect(run(controller), {
      onSuccess: (a) => {
        clearTimeout(timer)
        return Effect.succeed(a)
      },
      onFailure: (error) => {
        clearTimeout(timer)
        const failure = !timedOut
          ? error
          : byDeadline
            ? pastDeadline(operation, key, left)
            : new StoreError({ reason: "Timeout", operation, key, cause: `no answer within ${s3.attemptTimeout}` })
        // A throttled attempt is counted here, in the same step (not a `tapError` around every attempt).
        return failure.reason === "Throttled"
          ? Effect.zipRight(Metric.increment(CacheMetrics.throttles), Effect.fail(failure))
          : Effect.fail(failure)
      },
    })
  })

/**
 * The retries of a call bounded by its deadline: none once it has passed, and the retry loop
 * (backoff sleeps included) cut off at it. Only a failed first attempt gets here, so the fork
 * of `withinDeadline` is off the hot path.
 */
const retryingWithin = <A, R>(
  s3: S3Store,
  operation: string,
  key: string,
  attempt: Effect.Effect<A, StoreError, R>,
  deadline: number,
): Effect.Effect<A, StoreError, R> =>
  Effect.catchAll(attempt, (first) =>
    Effect.clockWith((clock) => {
      if (!first.retryable || clock.unsafeCurrentTimeMillis() >= deadline) return Effect.fail(first)
      let replay = true
      const again = Effect.suspend(() => {
        if (!replay) return attempt
        replay = false
        return Effect.fail(first)
      })
      return withinDeadline(s3.retrying(again), operation, key, deadline)
    }),
  )

/**
 * One call: per-attempt timeout and debug log, retried under the policy, one log line for the
 * whole; with a `deadline`, never in flight past it ({@link timed}, {@link retryingWithin}).
 */
export const call = <A, R>(
  s3: S3Store,
  operation: string,
  key: string,
  attempt: (controller: LightController) => Effect.Effect<A, StoreError, R>,
  describe?: (a: A) => OperationLog.Fields,
  deadline?: number,
): Effect.Effect<A, StoreError, R> => {
  const once = timed(s3, operation, key, attempt, deadline).pipe(
    OperationLog.logged(`s3.${operation}.attempt`, { key }, { level: "debug" }),
  )
  return (deadline === undefined ? s3.retrying(once) : retryingWithin(s3, operation, key, once, deadline)).pipe(
    OperationLog.logged(
      `s3.${operation}`,
      { bucket: s3.bucket, key },
      describe ? { describe, level: "debug" } : { level: "debug" },
    ),
  )
}

export const keyOf = (s3: S3Store, kind: string, id: string): string => {
  const k = s3.registry.get(kind)
  return k === undefined ? `${s3.prefix}${kind}/${id}.json` : S3Key.forDocument(s3.prefix, k, id)
}

export const tooLarge = (s3: S3Store, operation: string, key: string, bytes: number) =>
  new StoreError({
    reason: "TooLarge",
    operation,
    key,
    cause: `${bytes} bytes is over the ${s3.maxBytes}-byte limit`,
  })

export const put = (s3: S3Store, document: Document.AnyDocument, conditions?: PutConditions) =>
  Effect.suspend(() => {
    const key = keyOf(s3, document.kind, document.id)
    const body = s3.encoder.encode(encodeBody(document))
    if (body.byteLength > s3.maxBytes) return Effect.fail(tooLarge(s3, "PutObject", key, body.byteLength))
    const metadata = encodeMetadata(metadataOf(s3.registry, document))
    return call(
      s3,
      "PutObject",
      key,
      (controller) =>
        sendThen(
          controller,
          (abortSignal) =>
            s3.client.send(
              new PutObjectCommand({
                Bucket: s3.bucket,
                Key: key,
                Body: body,
                ContentType: contentType,
                ContentLength: body.byteLength,
                Metadata: metadata,
                ...(s3.conditionalWrites && conditions?.ifMatch !== undefined
                  ? { IfMatch: quoted(conditions.ifMatch) }
                  : {}),
                ...(s3.conditionalWrites && conditions?.ifNoneMatch === "*" ? { IfNoneMatch: "*" } : {}),
              }),
              { abortSignal },
            ),
          (out) => Effect.succeed({ key, etag: normalizeEtag(out.ETag) }),
          (error) => Effect.fail(toStoreError("PutObject", key)(error)),
        ),
      (out) => ({
        etag: out.etag,
        bytes: body.byteLength,
        ...(conditions?.ifMatch !== undefined ? { ifMatch: conditions.ifMatch } : {}),
        ...(conditions?.ifNoneMatch !== undefined ? { ifNoneMatch: conditions.ifNoneMatch } : {}),
      }),
      conditions?.deadline,
    )
  })

/** An object GetObject found, its body read. */
interface FoundObject {
  readonly bytes: Uint8Array
  readonly etag: string
  readonly lastModified?: Date
}

export const getKey = (s3: S3Store, key: string) =>
  call(
    s3,
    "GetObject",
    key,
    // Plain steps (no generator): the request, then the body read under the size limit.
    (controller) =>
      sendThen(
        controller,
        (abortSignal) => s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }), { abortSignal }),
        (object): Effect.Effect<Option.Option<FoundObject>, StoreError> => {
          if (object.ContentLength !== undefined && object.ContentLength > s3.maxBytes) {
            destroy(object.Body)
            return Effect.fail(tooLarge(s3, "GetObject", key, object.ContentLength))
          }
          return Effect.map(
            readBody(object.Body, s3.maxBytes, key, asAbortSignal(controller.signal)),
            (bytes): Option.Option<FoundObject> =>
              Option.some({
                bytes,
                etag: normalizeEtag(object.ETag),
                ...(object.LastModified !== undefined ? { lastModified: object.LastModified } : {}),
              }),
          )
        },
        (error) =>
          isNotFound(error)
            ? Effect.succeed(Option.none<FoundObject>())
            : Effect.fail(toStoreError("GetObject", key)(error)),
      ),
    (out) => ({ found: Option.isSome(out) }),
  ).pipe(
    Effect.flatMap((found) =>
      Option.match(found, {
        onNone: () => Effect.succeed(Option.none<StoredDocument>()),
        onSome: (object) =>
          Effect.map(
            decodeBody(s3.registry, { prefix: s3.prefix, source: `s3://${s3.bucket}/${key}` }, key, object.bytes),
            (document): Option.Option<StoredDocument> =>
              Option.some({ key, document, etag: object.etag, lastModified: object.lastModified }),
          ),
      }),
    ),
  )

export const head = (s3: S3Store, key: string) =>
  call(
    s3,
    "HeadObject",
    key,
    (controller) =>
      sendThen(
        controller,
        (abortSignal) => s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }), { abortSignal }),
        (out) =>
          Effect.succeed(
            Option.some<ObjectInfo>({
              key,
              etag: normalizeEtag(out.ETag),
              size: out.ContentLength ?? 0,
              lastModified: out.LastModified,
              metadata: decodeMetadata(out.Metadata),
            }),
          ),
        (error) =>
          isNotFound(error)
            ? Effect.succeed(Option.none<ObjectInfo>())
            : Effect.fail(toStoreError("HeadObject", key)(error)),
      ),
    (out) => ({ found: Option.isSome(out) }),
  )

export const remove = (s3: S3Store, kind: string, id: string, conditions?: DeleteConditions) => {
  const key = keyOf(s3, kind, id)
  return call(
    s3,
    "DeleteObject",
    key,
    (controller) =>
      sendThen(
        controller,
        (abortSignal) =>
          s3.client.send(
            new DeleteObjectCommand({
              Bucket: s3.bucket,
              Key: key,
              ...(s3.conditionalWrites && conditions?.ifMatch !== undefined
                ? { IfMatch: quoted(conditions.ifMatch) }
                : {}),
            }),
            { abortSignal },
          ),
        () => Effect.void,
        // S3 answers 204 for a missing key; an emulator answering 404 is the same outcome.
        (error) => (isNotFound(error) ? Effect.void : Effect.fail(toStoreError("DeleteObject", key)(error))),
      ),
    undefined,
    conditions?.deadline,
  )
}

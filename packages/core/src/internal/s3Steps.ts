/**
 * The steps of the S3 store (`DocumentStore/S3.ts` builds the {@link S3Store}
 * once and binds them): `timed` (one attempt under the attempt timeout), `call`
 * (attempts logged, retried, one log line for the whole), `keyOf`, and one named
 * function per operation (`put`, `getKey`, `head`, `remove`, `list`).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as Document from "../Document.js"
import type * as DocumentKind from "../DocumentKind.js"
import {
  contentType,
  type DeleteConditions,
  type ObjectInfo,
  type PutConditions,
  type StoredDocument,
  StoreError,
} from "../DocumentStore.js"
import * as OperationLog from "../OperationLog.js"
import type * as Retry from "../Retry.js"
import * as S3Key from "../S3Key.js"
import { decodeBody, decodeMetadata, encodeBody, encodeMetadata, metadataOf, normalizeEtag } from "./objectCodec.js"
import { destroy, readBody } from "./readBody.js"
import { isNotFound, sendWith, toStoreError } from "./s3Client.js"

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

const countThrottle = <A, R>(self: Effect.Effect<A, StoreError, R>) =>
  Effect.tapError(self, (error) =>
    error.reason === "Throttled" ? Metric.increment(CacheMetrics.throttles) : Effect.void,
  )

/**
 * One attempt of `run`, given the abort controller of its SDK command: after the attempt
 * timeout the controller aborts (the request, or the body being read) and the attempt fails as
 * `Timeout`; interrupting the fiber aborts it too. A native timer, not `Effect.timeoutFail`,
 * which forks two fibers per call (measured: ~50 us a call, more than the rest of the plumbing).
 */
export const timed = <A, R>(
  s3: S3Store,
  operation: string,
  key: string,
  run: (controller: AbortController) => Effect.Effect<A, StoreError, R>,
): Effect.Effect<A, StoreError, R> =>
  Effect.suspend(() => {
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, s3.attemptTimeoutMillis)
    timer.unref?.()
    return Effect.matchEffect(run(controller), {
      onSuccess: (a) => {
        clearTimeout(timer)
        return Effect.succeed(a)
      },
      onFailure: (error) => {
        clearTimeout(timer)
        return Effect.fail(
          timedOut
            ? new StoreError({ reason: "Timeout", operation, key, cause: `no answer within ${s3.attemptTimeout}` })
            : error,
        )
      },
    })
  })

/** One call: per-attempt timeout and debug log, retried under the policy, one log line for the whole. */
export const call = <A, R>(
  s3: S3Store,
  operation: string,
  key: string,
  attempt: (controller: AbortController) => Effect.Effect<A, StoreError, R>,
  describe?: (a: A) => OperationLog.Fields,
): Effect.Effect<A, StoreError, R> =>
  timed(s3, operation, key, attempt).pipe(
    countThrottle,
    OperationLog.logged(`s3.${operation}.attempt`, { key }, { level: "debug" }),
    s3.retrying,
    OperationLog.logged(
      `s3.${operation}`,
      { bucket: s3.bucket, key },
      describe ? { describe, level: "debug" } : { level: "debug" },
    ),
  )

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
        sendWith(controller, (abortSignal) =>
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
        ).pipe(
          Effect.map((out) => ({ key, etag: normalizeEtag(out.ETag) })),
          Effect.mapError(toStoreError("PutObject", key)),
        ),
      (out) => ({
        etag: out.etag,
        bytes: body.byteLength,
        ...(conditions?.ifMatch !== undefined ? { ifMatch: conditions.ifMatch } : {}),
        ...(conditions?.ifNoneMatch !== undefined ? { ifNoneMatch: conditions.ifNoneMatch } : {}),
      }),
    )
  })

export const getKey = (s3: S3Store, key: string) =>
  call(
    s3,
    "GetObject",
    key,
    (controller) =>
      Effect.gen(function* () {
        const out = yield* sendWith(controller, (abortSignal) =>
          s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }), { abortSignal }),
        ).pipe(
          Effect.map(Option.some),
          Effect.catchIf(isNotFound, () => Effect.succeed(Option.none())),
          Effect.mapError(toStoreError("GetObject", key)),
        )
        if (Option.isNone(out)) return Option.none<{ bytes: Uint8Array; etag: string; lastModified?: Date }>()
        const object = out.value
        if (object.ContentLength !== undefined && object.ContentLength > s3.maxBytes) {
          destroy(object.Body)
          return yield* Effect.fail(tooLarge(s3, "GetObject", key, object.ContentLength))
        }
        const bytes = yield* readBody(object.Body, s3.maxBytes, key, controller.signal)
        return Option.some({
          bytes,
          etag: normalizeEtag(object.ETag),
          ...(object.LastModified !== undefined ? { lastModified: object.LastModified } : {}),
        })
      }),
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
      sendWith(controller, (abortSignal) =>
        s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }), { abortSignal }),
      ).pipe(
        Effect.map(
          (out): Option.Option<ObjectInfo> =>
            Option.some({
              key,
              etag: normalizeEtag(out.ETag),
              size: out.ContentLength ?? 0,
              lastModified: out.LastModified,
              metadata: decodeMetadata(out.Metadata),
            }),
        ),
        Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<ObjectInfo>())),
        Effect.mapError(toStoreError("HeadObject", key)),
      ),
    (out) => ({ found: Option.isSome(out) }),
  )

export const remove = (s3: S3Store, kind: string, id: string, conditions?: DeleteConditions) => {
  const key = keyOf(s3, kind, id)
  return call(s3, "DeleteObject", key, (controller) =>
    sendWith(controller, (abortSignal) =>
      s3.client.send(
        new DeleteObjectCommand({
          Bucket: s3.bucket,
          Key: key,
          ...(s3.conditionalWrites && conditions?.ifMatch !== undefined ? { IfMatch: quoted(conditions.ifMatch) } : {}),
        }),
        { abortSignal },
      ),
    ).pipe(
      Effect.asVoid,
      // S3 answers 204 for a missing key; an emulator answering 404 is the same outcome.
      Effect.catchIf(isNotFound, () => Effect.void),
      Effect.mapError(toStoreError("DeleteObject", key)),
    ),
  )
}

export const list = (s3: S3Store, listOptions: { readonly prefix?: string; readonly startAfter?: string } = {}) => {
  const listPrefix = s3.prefix + (listOptions.prefix ?? "")
  type Cursor = { readonly token?: string; readonly startAfter?: string }
  const first: Cursor = listOptions.startAfter !== undefined ? { startAfter: listOptions.startAfter } : {}
  return Stream.paginateChunkEffect(first, (cursor) =>
    call(
      s3,
      "ListObjectsV2",
      listPrefix,
      (controller) =>
        sendWith(controller, (abortSignal) =>
          s3.client.send(
            new ListObjectsV2Command({
              Bucket: s3.bucket,
              Prefix: listPrefix,
              MaxKeys: s3.pageSize,
              ...(cursor.token !== undefined ? { ContinuationToken: cursor.token } : {}),
              ...(cursor.startAfter !== undefined ? { StartAfter: cursor.startAfter } : {}),
            }),
            { abortSignal },
          ),
        ).pipe(Effect.mapError(toStoreError("ListObjectsV2", listPrefix))),
      (out) => ({ count: out.KeyCount ?? out.Contents?.length ?? 0 }),
    ).pipe(
      Effect.map((out) => {
        const items = (out.Contents ?? []).flatMap(
          (o): Array<ObjectInfo> =>
            o.Key === undefined
              ? []
              : [
                  {
                    key: o.Key,
                    etag: normalizeEtag(o.ETag),
                    size: o.Size ?? 0,
                    lastModified: o.LastModified,
                    metadata: Option.none(),
                  },
                ],
        )
        const next: Option.Option<Cursor> =
          out.IsTruncated === true && out.NextContinuationToken !== undefined
            ? Option.some({ token: out.NextContinuationToken })
            : Option.none()
        return [Chunk.unsafeFromArray(items), next] as const
      }),
    ),
  )
}

/**
 * The S3 backend of the {@link DocumentStore.DocumentStore} port, over
 * effect-aws's S3 service (the fiber's abort signal reaches every HTTP request).
 *
 * - One scoped `S3Client` per layer, destroyed when the layer's scope closes;
 *   `maxAttempts: 1` so that {@link Retry} is the only retry layer, and
 *   path-style addressing whenever an endpoint is set (emulators).
 * - Every attempt has a timeout and is logged at debug level; every operation
 *   is retried with backoff and jitter on throttling, 5xx, timeouts and network
 *   errors only.
 * - GetObject bodies are read interruptibly (interrupting destroys the stream),
 *   with a size limit checked before and while reading.
 *
 * @example
 * ```ts
 * import * as S3 from "@docket/core/DocumentStore/S3"
 * const StoreLive = S3.layer({ bucket: "docs", clientConfig: { region: "eu-west-1" } })
 * ```
 *
 * @since 0.1.0
 */
import type { Readable } from "node:stream"
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3"
import { S3ClientInstance } from "@effect-aws/client-s3/S3ClientInstance"
import { makeS3Service } from "@effect-aws/client-s3/S3Service"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "../CacheMetrics.js"
import * as DocketConfig from "../DocketConfig.js"
import type * as Document from "../Document.js"
import * as DocumentKind from "../DocumentKind.js"
import {
  contentType,
  DefaultMaxObjectBytes,
  DocumentStore,
  decodeBody,
  decodeMetadata,
  encodeBody,
  encodeMetadata,
  metadataOf,
  normalizeEtag,
  type ObjectInfo,
  type Service,
  type StoredDocument,
  StoreError,
} from "../DocumentStore.js"
import * as OperationLog from "../OperationLog.js"
import * as Retry from "../Retry.js"
import * as S3Key from "../S3Key.js"

/** Options of the S3 store. */
export interface Options {
  readonly bucket: string
  /** The document prefix (default empty; include a trailing `/`). */
  readonly prefix?: string
  /**
   * SDK client settings (region, credentials, endpoint, ...). `maxAttempts` is
   * forced to 1 and `forcePathStyle` defaults to true when `endpoint` is set.
   */
  readonly clientConfig?: S3ClientConfig
  /** Retries (default {@link Retry.defaultPolicy}). */
  readonly retry?: Retry.Policy
  /** Timeout of one attempt (default 10 s). */
  readonly attemptTimeout?: Duration.DurationInput
  /** Largest object read or written (default 10 MB); larger ones fail with `TooLarge`. */
  readonly maxObjectBytes?: number
  /** Keys per listing page (default 1000, S3's maximum). */
  readonly pageSize?: number
}

type Failure = { readonly _tag?: string; readonly name?: string }

/** The S3 errors that mean "no such object". */
const isNotFound = (error: unknown): boolean => {
  const e = error as Failure
  return e?._tag === "NoSuchKey" || e?._tag === "NotFound" || Retry.classify(error).reason === "NotFound"
}

const toStoreError = (operation: string, key: string) => (error: unknown) => {
  if (error instanceof StoreError) return error
  const tag = (error as Failure)?._tag
  const reason = tag === "TimeoutException" ? "Timeout" : Retry.classify(error).reason
  return new StoreError({ reason, operation, key, cause: error })
}

const countThrottle = <A, R>(self: Effect.Effect<A, StoreError, R>) =>
  Effect.tapError(self, (error) =>
    error.reason === "Throttled" ? Metric.increment(CacheMetrics.throttles) : Effect.void,
  )

/**
 * Builds the store. The SDK client lives as long as the scope.
 */
export const make = (options: Options): Effect.Effect<Service, never, Scope.Scope | DocumentKind.DocumentKinds> =>
  Effect.gen(function* () {
    const registry = yield* DocumentKind.DocumentKinds
    const bucket = options.bucket
    const prefix = options.prefix ?? ""
    const policy = options.retry ?? Retry.defaultPolicy
    const attemptTimeout = Duration.decode(options.attemptTimeout ?? "10 seconds")
    const maxBytes = options.maxObjectBytes ?? DefaultMaxObjectBytes
    const pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000))
    const clientConfig = options.clientConfig ?? {}
    const client = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new S3Client({
            ...(clientConfig.endpoint !== undefined ? { forcePathStyle: true } : {}),
            ...clientConfig,
            maxAttempts: 1,
          }),
      ),
      (c) => Effect.sync(() => c.destroy()),
    )
    const s3 = yield* makeS3Service.pipe(Effect.provideService(S3ClientInstance, client))
    const encoder = new TextEncoder()
    const retrying = Retry.retrying(policy)

    /** One call: per-attempt timeout and debug log, retried under the policy, one log line for the whole. */
    const call = <A, R>(
      operation: string,
      key: string,
      attempt: Effect.Effect<A, StoreError, R>,
      describe?: (a: A) => OperationLog.Fields,
    ): Effect.Effect<A, StoreError, R> =>
      attempt.pipe(
        Effect.timeoutFail({
          duration: attemptTimeout,
          onTimeout: () =>
            new StoreError({ reason: "Timeout", operation, key, cause: `no answer within ${attemptTimeout}` }),
        }),
        countThrottle,
        OperationLog.logged(`s3.${operation}.attempt`, { key }, { level: "debug" }),
        retrying,
        OperationLog.logged(
          `s3.${operation}`,
          { bucket, key },
          describe ? { describe, level: "debug" } : { level: "debug" },
        ),
      )

    const keyOf = (kind: string, id: string): string => {
      const k = registry.get(kind)
      return k === undefined ? `${prefix}${kind}/${id}.json` : S3Key.forDocument(prefix, k, id)
    }

    const tooLarge = (operation: string, key: string, bytes: number) =>
      new StoreError({
        reason: "TooLarge",
        operation,
        key,
        cause: `${bytes} bytes is over the ${maxBytes}-byte limit`,
      })

    const put = (document: Document.AnyDocument) =>
      Effect.suspend(() => {
        const key = keyOf(document.kind, document.id)
        const body = encoder.encode(encodeBody(document))
        if (body.byteLength > maxBytes) return Effect.fail(tooLarge("PutObject", key, body.byteLength))
        const metadata = encodeMetadata(metadataOf(registry, document))
        return call(
          "PutObject",
          key,
          s3
            .putObject({
              Bucket: bucket,
              Key: key,
              Body: body,
              ContentType: contentType,
              ContentLength: body.byteLength,
              Metadata: metadata,
            })
            .pipe(
              Effect.map((out) => ({ key, etag: normalizeEtag(out.ETag) })),
              Effect.mapError(toStoreError("PutObject", key)),
            ),
          (out) => ({ etag: out.etag, bytes: body.byteLength }),
        )
      })

    const getKey = (key: string) =>
      call(
        "GetObject",
        key,
        Effect.gen(function* () {
          const out = yield* s3.getObject({ Bucket: bucket, Key: key }).pipe(
            Effect.map(Option.some),
            Effect.catchIf(isNotFound, () => Effect.succeed(Option.none())),
            Effect.mapError(toStoreError("GetObject", key)),
          )
          if (Option.isNone(out)) return Option.none<{ bytes: Uint8Array; etag: string; lastModified?: Date }>()
          const object = out.value
          if (object.ContentLength !== undefined && object.ContentLength > maxBytes) {
            destroy(object.Body)
            return yield* Effect.fail(tooLarge("GetObject", key, object.ContentLength))
          }
          const bytes = yield* readBody(object.Body, maxBytes, key)
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
                decodeBody(registry, { prefix, source: `s3://${bucket}/${key}` }, key, object.bytes),
                (document): Option.Option<StoredDocument> =>
                  Option.some({ key, document, etag: object.etag, lastModified: object.lastModified }),
              ),
          }),
        ),
      )

    const head = (key: string) =>
      call(
        "HeadObject",
        key,
        s3.headObject({ Bucket: bucket, Key: key }).pipe(
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

    const remove = (kind: string, id: string) => {
      const key = keyOf(kind, id)
      return call(
        "DeleteObject",
        key,
        s3.deleteObject({ Bucket: bucket, Key: key }).pipe(
          Effect.asVoid,
          // S3 answers 204 for a missing key; an emulator answering 404 is the same outcome.
          Effect.catchIf(isNotFound, () => Effect.void),
          Effect.mapError(toStoreError("DeleteObject", key)),
        ),
      )
    }

    const list = (listOptions: { readonly prefix?: string; readonly startAfter?: string } = {}) => {
      const listPrefix = prefix + (listOptions.prefix ?? "")
      type Cursor = { readonly token?: string; readonly startAfter?: string }
      const first: Cursor = listOptions.startAfter !== undefined ? { startAfter: listOptions.startAfter } : {}
      return Stream.paginateChunkEffect(first, (cursor) =>
        call(
          "ListObjectsV2",
          listPrefix,
          s3
            .listObjectsV2({
              Bucket: bucket,
              Prefix: listPrefix,
              MaxKeys: pageSize,
              ...(cursor.token !== undefined ? { ContinuationToken: cursor.token } : {}),
              ...(cursor.startAfter !== undefined ? { StartAfter: cursor.startAfter } : {}),
            })
            .pipe(Effect.mapError(toStoreError("ListObjectsV2", listPrefix))),
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

    return {
      keyOf,
      put,
      get: (kind, id) => getKey(keyOf(kind, id)),
      getKey,
      head,
      delete: remove,
      list,
    } satisfies Service
  })

const destroy = (body: unknown) => {
  const stream = body as Partial<Readable> | undefined
  try {
    stream?.destroy?.()
  } catch {}
}

/**
 * Reads a GetObject body interruptibly: on interruption the stream is destroyed
 * (which releases the socket); over `maxBytes` it fails with `TooLarge`.
 * Exported for tests.
 */
export const readBody = (body: unknown, maxBytes: number, key: string): Effect.Effect<Uint8Array, StoreError> => {
  const stream = body as Readable | undefined
  if (stream === undefined || stream === null) return Effect.succeed(new Uint8Array())
  if (typeof stream.on !== "function") {
    // Not a Node stream (another runtime): the SDK mixin reads it; abort via the signal.
    const mixin = body as { transformToByteArray?: () => Promise<Uint8Array> }
    return Effect.tryPromise({
      try: () => mixin.transformToByteArray?.() ?? Promise.resolve(new Uint8Array()),
      catch: (cause) => new StoreError({ reason: Retry.classify(cause).reason, operation: "GetObject", key, cause }),
    })
  }
  return Effect.async<Uint8Array, StoreError>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      size += buffer.byteLength
      if (size > maxBytes) {
        cleanup()
        stream.destroy()
        resume(
          Effect.fail(
            new StoreError({
              reason: "TooLarge",
              operation: "GetObject",
              key,
              cause: `over the ${maxBytes}-byte limit`,
            }),
          ),
        )
        return
      }
      chunks.push(buffer)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(new Uint8Array(Buffer.concat(chunks))))
    }
    const onError = (cause: Error) => {
      cleanup()
      const { reason } = Retry.classify(cause)
      // A body cut off mid-way is a network failure: worth another attempt.
      resume(
        Effect.fail(
          new StoreError({ reason: reason === "Unknown" ? "Unavailable" : reason, operation: "GetObject", key, cause }),
        ),
      )
    }
    const cleanup = () => {
      stream.off("data", onData)
      stream.off("end", onEnd)
      stream.off("error", onError)
    }
    stream.on("data", onData)
    stream.once("end", onEnd)
    stream.once("error", onError)
    return Effect.sync(() => {
      cleanup()
      stream.destroy()
    })
  })
}

/** Provides the S3 store. */
export const layer = (options: Options): Layer.Layer<DocumentStore, never, DocumentKind.DocumentKinds> =>
  Layer.scoped(DocumentStore, make(options))

/**
 * Provides the S3 store from {@link DocketConfig}: bucket, prefix, region,
 * `DOCKET_S3_ENDPOINT` (path-style) and `DOCKET_MAX_ATTEMPTS`. Credentials come
 * the SDK's usual way.
 */
export const layerConfig = (
  overrides: Omit<Options, "bucket" | "prefix"> = {},
): Layer.Layer<DocumentStore, never, DocketConfig.DocketConfig | DocumentKind.DocumentKinds> =>
  Layer.scoped(
    DocumentStore,
    Effect.flatMap(DocketConfig.DocketConfig, (settings) => make(optionsFromSettings(settings, overrides))),
  )

/** The store options that {@link DocketConfig.Settings} imply. */
export const optionsFromSettings = (
  settings: DocketConfig.Settings,
  overrides: Omit<Options, "bucket" | "prefix"> = {},
): Options => ({
  bucket: settings.bucket,
  prefix: settings.prefix,
  retry: { ...Retry.defaultPolicy, maxAttempts: settings.maxAttempts },
  ...overrides,
  clientConfig: {
    region: settings.region,
    ...Option.match(settings.s3Endpoint, {
      onNone: () => ({}),
      onSome: (endpoint) => ({ endpoint, forcePathStyle: true }),
    }),
    ...overrides.clientConfig,
  },
})

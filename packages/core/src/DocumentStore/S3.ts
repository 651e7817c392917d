/**
 * The S3 backend of the {@link DocumentStore.DocumentStore} port, over the AWS
 * SDK's `S3Client`; every command is sent with the fiber's abort signal
 * (interrupting aborts the HTTP request). Not through effect-aws's S3 service:
 * it imports every S3 command, its paginators and the presigner (17 KB of the
 * Lambda's cold-start bundle, measured) for nothing this backend uses.
 *
 * - One scoped `S3Client` per layer, destroyed when the layer's scope closes;
 *   `maxAttempts: 1` so that {@link Retry} is the only retry layer, and
 *   path-style addressing whenever an endpoint is set (emulators).
 * - Every attempt has a timeout and is logged at debug level; every operation
 *   is retried with backoff and jitter on throttling, 5xx, timeouts and network
 *   errors only.
 * - GetObject bodies are read interruptibly (interrupting destroys the stream),
 *   with a size limit checked before and while reading.
 * - Conditional writes: `If-Match` / `If-None-Match: *` on PutObject and
 *   `If-Match` on DeleteObject are sent when {@link Options.conditionalWrites}
 *   is on (the default; `DOCKET_S3_CONDITIONAL_WRITES=off` turns it off for an
 *   S3-compatible store that rejects the headers). A 412 (or a 409 conflicting
 *   conditional write) is a `StoreError` of reason `PreconditionFailed`. A store
 *   may also accept and ignore them (fauxqs 1.9.2 does): {@link probeConditionalWrites}
 *   tells which, with two puts of a probe object.
 *
 * @example
 * ```ts
 * import * as S3 from "@docket/core/DocumentStore/S3"
 * const StoreLive = S3.layer({ bucket: "docs", clientConfig: { region: "eu-west-1" } })
 * ```
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3ClientConfig,
} from "@aws-sdk/client-s3"
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
  type DeleteConditions,
  DocumentStore,
  type ObjectInfo,
  type PutConditions,
  type Service,
  type StoredDocument,
  StoreError,
} from "../DocumentStore.js"
import {
  decodeBody,
  decodeMetadata,
  encodeBody,
  encodeMetadata,
  metadataOf,
  normalizeEtag,
} from "../internal/objectCodec.js"
import { destroy, readBody } from "../internal/readBody.js"
import * as S3Client from "../internal/s3Client.js"
import { isNotFound, send, sendWith, toStoreError } from "../internal/s3Client.js"
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
  /** Send the conditions of conditional puts and deletes (default true). */
  readonly conditionalWrites?: boolean
}

/** The quoted form of an ETag, as HTTP conditional headers carry it. */
const quoted = (etag: string) => `"${normalizeEtag(etag)}"`

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
    const client = yield* S3Client.acquire(clientConfig)
    const encoder = new TextEncoder()
    const retrying = Retry.retrying(policy)

    const attemptTimeoutMillis = Duration.toMillis(attemptTimeout)

    /**
     * One attempt of `run`, given the abort controller of its SDK command: after the attempt
     * timeout the controller aborts (the request, or the body being read) and the attempt fails as
     * `Timeout`; interrupting the fiber aborts it too. A native timer, not `Effect.timeoutFail`,
     * which forks two fibers per call (measured: ~50 us a call, more than the rest of the plumbing).
     */
    const timed = <A, R>(
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
        }, attemptTimeoutMillis)
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
                ? new StoreError({ reason: "Timeout", operation, key, cause: `no answer within ${attemptTimeout}` })
                : error,
            )
          },
        })
      })

    /** One call: per-attempt timeout and debug log, retried under the policy, one log line for the whole. */
    const call = <A, R>(
      operation: string,
      key: string,
      attempt: (controller: AbortController) => Effect.Effect<A, StoreError, R>,
      describe?: (a: A) => OperationLog.Fields,
    ): Effect.Effect<A, StoreError, R> =>
      timed(operation, key, attempt).pipe(
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

    const conditionalWrites = options.conditionalWrites !== false

    const put = (document: Document.AnyDocument, conditions?: PutConditions) =>
      Effect.suspend(() => {
        const key = keyOf(document.kind, document.id)
        const body = encoder.encode(encodeBody(document))
        if (body.byteLength > maxBytes) return Effect.fail(tooLarge("PutObject", key, body.byteLength))
        const metadata = encodeMetadata(metadataOf(registry, document))
        return call(
          "PutObject",
          key,
          (controller) =>
            sendWith(controller, (abortSignal) =>
              client.send(
                new PutObjectCommand({
                  Bucket: bucket,
                  Key: key,
                  Body: body,
                  ContentType: contentType,
                  ContentLength: body.byteLength,
                  Metadata: metadata,
                  ...(conditionalWrites && conditions?.ifMatch !== undefined
                    ? { IfMatch: quoted(conditions.ifMatch) }
                    : {}),
                  ...(conditionalWrites && conditions?.ifNoneMatch === "*" ? { IfNoneMatch: "*" } : {}),
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

    const getKey = (key: string) =>
      call(
        "GetObject",
        key,
        (controller) =>
          Effect.gen(function* () {
            const out = yield* sendWith(controller, (abortSignal) =>
              client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
            ).pipe(
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
            const bytes = yield* readBody(object.Body, maxBytes, key, controller.signal)
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
        (controller) =>
          sendWith(controller, (abortSignal) =>
            client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
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

    const remove = (kind: string, id: string, conditions?: DeleteConditions) => {
      const key = keyOf(kind, id)
      return call("DeleteObject", key, (controller) =>
        sendWith(controller, (abortSignal) =>
          client.send(
            new DeleteObjectCommand({
              Bucket: bucket,
              Key: key,
              ...(conditionalWrites && conditions?.ifMatch !== undefined
                ? { IfMatch: quoted(conditions.ifMatch) }
                : {}),
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

    const list = (listOptions: { readonly prefix?: string; readonly startAfter?: string } = {}) => {
      const listPrefix = prefix + (listOptions.prefix ?? "")
      type Cursor = { readonly token?: string; readonly startAfter?: string }
      const first: Cursor = listOptions.startAfter !== undefined ? { startAfter: listOptions.startAfter } : {}
      return Stream.paginateChunkEffect(first, (cursor) =>
        call(
          "ListObjectsV2",
          listPrefix,
          (controller) =>
            sendWith(controller, (abortSignal) =>
              client.send(
                new ListObjectsV2Command({
                  Bucket: bucket,
                  Prefix: listPrefix,
                  MaxKeys: pageSize,
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

export { readBody } from "../internal/readBody.js"

/** Provides the S3 store. */
export const layer = (options: Options): Layer.Layer<DocumentStore, never, DocumentKind.DocumentKinds> =>
  Layer.scoped(DocumentStore, make(options))

/**
 * Provides the S3 store from {@link DocketConfig}: bucket, prefix, region,
 * `DOCKET_S3_ENDPOINT` (path-style), `DOCKET_MAX_ATTEMPTS` and `DOCKET_ATTEMPT_TIMEOUT`. Credentials come
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
  attemptTimeout: `${settings.attemptTimeoutMillis} millis`,
  conditionalWrites: settings.s3ConditionalWrites,
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

/**
 * Whether the bucket's store enforces conditional writes: puts a probe object
 * outside the document prefix (`{prefix}.docket-probe/{uuid}`) with
 * `If-None-Match: *` twice and deletes it. `enforced`: the second put failed
 * with 412 (AWS S3); `ignored`: it succeeded (fauxqs 1.9.2); `rejected`: the
 * store refused the header (set `DOCKET_S3_CONDITIONAL_WRITES=off`).
 */
export const probeConditionalWrites = (
  options: Pick<Options, "bucket" | "prefix" | "clientConfig">,
): Effect.Effect<"enforced" | "ignored" | "rejected", StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const clientConfig = options.clientConfig ?? {}
    const client = yield* S3Client.acquire(clientConfig)
    const key = `${options.prefix ?? ""}.docket-probe/${randomUUID()}`
    const putOnce = send((abortSignal) =>
      client.send(new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: "probe", IfNoneMatch: "*" }), {
        abortSignal,
      }),
    )
    yield* putOnce.pipe(Effect.mapError(toStoreError("PutObject", key)))
    const second = yield* Effect.either(putOnce.pipe(Effect.mapError(toStoreError("PutObject", key))))
    yield* send((abortSignal) =>
      client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: key }), { abortSignal }),
    ).pipe(Effect.ignore)
    if (second._tag === "Right") return "ignored" as const
    if (second.left.reason === "PreconditionFailed") return "enforced" as const
    if (second.left.reason === "Invalid") return "rejected" as const
    return yield* second.left
  })

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
 * `make` builds the client and settings once (`S3Store`); the steps it binds
 * (`timed`, `call`, `keyOf`, `put`, `getKey`, `head`, `remove`, `list`) are named
 * module-level functions in `internal/s3Steps.ts`.
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
import { DeleteObjectCommand, PutObjectCommand, type S3ClientConfig } from "@aws-sdk/client-s3"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as DocketConfig from "../DocketConfig.js"
import * as DocumentKind from "../DocumentKind.js"
import { DefaultMaxObjectBytes, DocumentStore, type Service, type StoreError } from "../DocumentStore.js"
import * as S3Client from "../internal/s3Client.js"
import { send, toStoreError } from "../internal/s3Client.js"
import * as Steps from "../internal/s3Steps.js"
import * as Retry from "../Retry.js"

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
  /**
   * Everything but `list`, which is not loaded and dies when called (default
   * false). The Lambda's S3-event runtime sets it: event sync reads one object
   * at a time, and its cold start then loads no `Stream`.
   */
  readonly documentsOnly?: boolean
}

const listNotLoaded = (): never => {
  throw new Error("DocumentStore.list is not loaded: this S3 store was built with documentsOnly")
}

/**
 * Builds the store. The SDK client lives as long as the scope.
 */
export const make = (options: Options): Effect.Effect<Service, never, Scope.Scope | DocumentKind.DocumentKinds> =>
  Effect.gen(function* () {
    const registry = yield* DocumentKind.DocumentKinds
    const prefix = options.prefix ?? ""
    const policy = options.retry ?? Retry.defaultPolicy
    const attemptTimeout = Duration.decode(options.attemptTimeout ?? "10 seconds")
    const clientConfig = options.clientConfig ?? {}
    const client = yield* S3Client.acquire(clientConfig)
    const s3: Steps.S3Store = {
      client,
      registry,
      bucket: options.bucket,
      prefix,
      attemptTimeout,
      attemptTimeoutMillis: Duration.toMillis(attemptTimeout),
      maxBytes: options.maxObjectBytes ?? DefaultMaxObjectBytes,
      pageSize: Math.min(1000, Math.max(1, options.pageSize ?? 1000)),
      conditionalWrites: options.conditionalWrites !== false,
      encoder: new TextEncoder(),
      retrying: Retry.retrying(policy),
    }
    // Imported when the store is built, not at all with `documentsOnly` (the listing is a Stream).
    const listing =
      options.documentsOnly === true ? undefined : yield* Effect.promise(() => import("../internal/streams.js"))
    return {
      keyOf: (kind, id) => Steps.keyOf(s3, kind, id),
      put: (document, conditions) => Steps.put(s3, document, conditions),
      get: (kind, id) => Steps.getKey(s3, Steps.keyOf(s3, kind, id)),
      getKey: (key) => Steps.getKey(s3, key),
      head: (key) => Steps.head(s3, key),
      delete: (kind, id, conditions) => Steps.remove(s3, kind, id, conditions),
      list: listing === undefined ? listNotLoaded : (listOptions) => listing.s3List(s3, listOptions),
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

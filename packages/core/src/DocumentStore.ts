import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as DocketError from "./DocketError.js"
import type * as Document from "./Document.js"
import * as DocumentKind from "./DocumentKind.js"
import type { ObjectMetadata } from "./internal/objectCodec.js"
import {
  decodeBody,
  decodeMetadata,
  encodeBody,
  encodeMetadata,
  etagOf,
  metadataOf,
  normalizeEtag,
} from "./internal/objectCodec.js"
import * as S3Key from "./S3Key.js"

/** S3 could not be reached or refused a call. */
export class StoreError extends DocketError.Remote("StoreError")<{
  readonly reason: DocketError.Reason | "TooLarge" | "PreconditionFailed"
  readonly operation: string
  /** The S3 key (or prefix) concerned. */
  readonly key: string
  readonly cause?: unknown
}> {
  override get message() {
    return `S3 ${this.operation} on ${JSON.stringify(this.key)} failed (${this.reason})${DocketError.causeText(this.cause)}`
  }
}

/** A document read from S3. */
export interface StoredDocument {
  readonly key: string
  readonly document: Document.AnyDocument
  readonly etag: string
  readonly lastModified: Date | undefined
}

/** What a HEAD or a listing tells about an object. */
export interface ObjectInfo {
  readonly key: string
  readonly etag: string
  readonly size: number
  readonly lastModified: Date | undefined
  /** Docket's metadata, when the object carries it (objects written by others may not). */
  readonly metadata: Option.Option<ObjectMetadata>
}

/** Options of {@link Service.list}. */
export interface ListOptions {
  /** Appended to the document prefix, e.g. `changes/`. */
  readonly prefix?: string
  /** A full key: the listing starts after it (S3 `StartAfter`), to resume. */
  readonly startAfter?: string
}

/**
 * The client-side condition of a put or delete: `deadline`, an instant in epoch
 * milliseconds of effect's `Clock`, after which the call must no longer be in
 * flight. A store honours it natively (the S3 backend aborts its request with
 * its own timer and starts no attempt or retry after it; the memory store refuses
 * a call that starts after it), or with {@link withinDeadline}. Past it the call
 * fails with {@link pastDeadline} (reason `Timeout`). The write protocol passes
 * its put budget this way, so that no put is in flight once the writer's lease
 * has run out (docs/write-through.md).
 */
export interface Deadline {
  readonly deadline?: number
}

/** Conditions of a put: the object's current ETag must be `ifMatch`; `ifNoneMatch: "*"`: no object. */
export interface PutConditions extends Deadline {
  readonly ifMatch?: string
  readonly ifNoneMatch?: "*"
}

/** Conditions of a delete: the object's current ETag must be `ifMatch` (a missing object is deleted already). */
export interface DeleteConditions extends Deadline {
  readonly ifMatch?: string
}

/**
 * The error of a call cut off at its {@link Deadline}: reason `Timeout`, `budgetMillis`
 * the time it had from its start. Built only when it happens (an error captures a
 * stack trace).
 */
export const pastDeadline = (operation: string, key: string, budgetMillis: number): StoreError =>
  new StoreError({
    reason: "Timeout",
    operation,
    key,
    cause: `gave up after ${Math.max(0, budgetMillis)} ms, before the intent's lease ends`,
  })

/**
 * `self` cut off at `deadline` (see {@link Deadline}) with {@link pastDeadline}:
 * for a store or a wrapper that waits (a test's held put, injected delays) and has
 * no native timer of its own. It forks a fiber to race the clock (effect's
 * `timeoutFail`), so it follows `TestClock`; the S3 backend does not use it.
 */
export const withinDeadline = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  operation: string,
  key: string,
  deadline: number | undefined,
): Effect.Effect<A, E | StoreError, R> =>
  deadline === undefined
    ? self
    : Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const left = deadline - now
        return left <= 0
          ? Effect.fail(pastDeadline(operation, key, left))
          : Effect.timeoutFail(self, {
              duration: Duration.millis(left),
              onTimeout: () => pastDeadline(operation, key, left),
            })
      })

/** Whether an error is a failed precondition of a conditional write. */
export const isPreconditionFailed = (error: unknown): error is StoreError =>
  error instanceof StoreError && error.reason === "PreconditionFailed"

/** The DocumentStore service. */
export interface Service {
  /** The S3 key of a document. */
  readonly keyOf: (kind: string, id: string) => string
  /**
   * Writes the JSON body with content type and {@link ObjectMetadata}, under `conditions` if any
   * (its {@link Deadline} included: never in flight past it).
   */
  readonly put: (
    document: Document.AnyDocument,
    conditions?: PutConditions,
  ) => Effect.Effect<{ readonly key: string; readonly etag: string }, StoreError>
  /** Reads and decodes a document; `None` when there is no object. */
  readonly get: (
    kind: string,
    id: string,
  ) => Effect.Effect<Option.Option<StoredDocument>, StoreError | DocumentKind.DocumentDecodeError>
  /** Reads and decodes the object at `key` (decoded, not URL-encoded). */
  readonly getKey: (
    key: string,
  ) => Effect.Effect<Option.Option<StoredDocument>, StoreError | DocumentKind.DocumentDecodeError>
  /** HEAD of an object; `None` when there is none. */
  readonly head: (key: string) => Effect.Effect<Option.Option<ObjectInfo>, StoreError>
  /** Deletes a document's object, under `conditions` if any (its {@link Deadline} included). Idempotent. */
  readonly delete: (kind: string, id: string, conditions?: DeleteConditions) => Effect.Effect<void, StoreError>
  /**
   * Every object under the document prefix (or `prefix` under it), page by page,
   * in S3's order (UTF-8 binary order of keys).
   * Listings carry no user metadata: `metadata` is `None`; use {@link Service.head}.
   */
  readonly list: (options?: ListOptions) => Stream.Stream<ObjectInfo, StoreError>
}

/** The DocumentStore service tag. */
export class DocumentStore extends Context.Tag("@docket/core/DocumentStore")<DocumentStore, Service>() {}

/** The default largest object Docket reads or writes: 10 MB. */
export const DefaultMaxObjectBytes = 10 * 1024 * 1024

/** The content type of every document object. */
export const contentType = "application/json"

export type { ObjectMetadata } from "./internal/objectCodec.js"

/**
 * The ETag a put of `document` gives its object, on every backend (S3's for a
 * single-part body: the MD5 of the JSON body {@link Service.put} writes). The
 * write protocol records it in the intent before the put, and resolution
 * compares S3's ETag against it.
 */
export const expectedEtag = (document: Document.AnyDocument): string => etagOf(encodeBody(document))

/** Whether two ETags name the same body (S3's surrounding quotes ignored: a cache entry keeps them as stored). */
export const sameEtag = (a: string, b: string): boolean => normalizeEtag(a) === normalizeEtag(b)

// ---------------------------------------------------------------------------
// Memory layer
// ---------------------------------------------------------------------------

/** Options of the memory store. */
export interface MemoryOptions {
  /** The document prefix (default empty). */
  readonly prefix?: string
  /** Objects per listing page (default 1000, as S3). */
  readonly pageSize?: number
  /** Largest object accepted or read (default {@link DefaultMaxObjectBytes}). */
  readonly maxObjectBytes?: number
  /** The bucket name used in error sources (default `memory`). */
  readonly bucket?: string
  /**
   * Whether conditional puts and deletes are enforced (default true, as AWS S3);
   * false accepts and ignores them, as fauxqs 1.9.2 does.
   */
  readonly conditional?: boolean
}

/** An object of the memory store. */
export interface MemoryObject {
  readonly body: Uint8Array
  readonly etag: string
  readonly lastModified: Date
  readonly metadata: Readonly<Record<string, string>>
  readonly contentType: string
}

/** The memory store, with test hooks beside the {@link Service}. */
export interface MemoryStore extends Service {
  /** Stores raw bytes at a key, as a foreign writer would (no Docket metadata unless given). */
  readonly putRaw: (
    key: string,
    body: string | Uint8Array,
    metadata?: Readonly<Record<string, string>>,
  ) => Effect.Effect<void>
  /** A snapshot of every object. */
  readonly objects: Effect.Effect<ReadonlyMap<string, MemoryObject>>
}

/** The memory store's objects and settings, built once in {@link makeMemory}; each step below reads it. */
interface Memory {
  readonly registry: DocumentKind.Registry
  readonly prefix: string
  readonly bucket: string
  readonly pageSize: number
  readonly maxBytes: number
  readonly conditional: boolean
  readonly objects: Map<string, MemoryObject>
  readonly encoder: InstanceType<typeof TextEncoder>
}

const precondition = (m: Memory, operation: string, key: string, conditions: PutConditions | undefined) => {
  if (!m.conditional || conditions === undefined) return undefined
  const current = m.objects.get(key)
  const failed =
    (conditions.ifNoneMatch === "*" && current !== undefined) ||
    (conditions.ifMatch !== undefined && current !== undefined && current.etag !== normalizeEtag(conditions.ifMatch)) ||
    (conditions.ifMatch !== undefined && current === undefined && operation === "PutObject")
  return failed
    ? new StoreError({
        reason: "PreconditionFailed",
        operation,
        key,
        cause: `the object's ETag is ${current === undefined ? "absent" : current.etag}, not ${conditions.ifMatch ?? "absent"}`,
      })
    : undefined
}

const memoryKeyOf = (m: Memory, kind: string, id: string): string => {
  const k = m.registry.get(kind)
  return k === undefined ? `${m.prefix}${kind}/${id}.json` : S3Key.forDocument(m.prefix, k, id)
}

const infoOf = (key: string, object: MemoryObject, withMetadata: boolean): ObjectInfo => ({
  key,
  etag: object.etag,
  size: object.body.byteLength,
  lastModified: object.lastModified,
  metadata: withMetadata ? decodeMetadata(object.metadata) : Option.none(),
})

const storeObject = (
  m: Memory,
  key: string,
  body: Uint8Array,
  metadata: Readonly<Record<string, string>>,
): MemoryObject => {
  const object: MemoryObject = {
    body,
    etag: etagOf(body),
    lastModified: new Date(),
    metadata,
    contentType,
  }
  m.objects.set(key, object)
  return object
}

const readObject = (
  m: Memory,
  key: string,
): Effect.Effect<Option.Option<StoredDocument>, StoreError | DocumentKind.DocumentDecodeError> =>
  Effect.suspend((): Effect.Effect<Option.Option<StoredDocument>, StoreError | DocumentKind.DocumentDecodeError> => {
    const object = m.objects.get(key)
    if (object === undefined) return Effect.succeed(Option.none<StoredDocument>())
    if (object.body.byteLength > m.maxBytes) {
      return Effect.fail(
        new StoreError({
          reason: "TooLarge",
          operation: "GetObject",
          key,
          cause: `${object.body.byteLength} bytes is over the ${m.maxBytes}-byte limit`,
        }),
      )
    }
    return Effect.map(
      decodeBody(m.registry, { prefix: m.prefix, source: `s3://${m.bucket}/${key}` }, key, object.body),
      (document): Option.Option<StoredDocument> =>
        Option.some({ key, document, etag: object.etag, lastModified: object.lastModified }),
    )
  })

// A memory call is instantaneous: honouring its deadline is refusing to start after it.
const late = (operation: string, key: string, conditions: Deadline | undefined, now: number) =>
  conditions?.deadline !== undefined && now >= conditions.deadline ? pastDeadline(operation, key, 0) : undefined

const putDocument = (m: Memory, document: Document.AnyDocument, conditions: PutConditions | undefined) =>
  Effect.clockWith((clock): Effect.Effect<{ readonly key: string; readonly etag: string }, StoreError> => {
    const key = memoryKeyOf(m, document.kind, document.id)
    const past = late("PutObject", key, conditions, clock.unsafeCurrentTimeMillis())
    if (past !== undefined) return Effect.fail(past)
    const failed = precondition(m, "PutObject", key, conditions)
    if (failed !== undefined) return Effect.fail(failed)
    const body = m.encoder.encode(encodeBody(document))
    if (body.byteLength > m.maxBytes) {
      return Effect.fail(
        new StoreError({
          reason: "TooLarge",
          operation: "PutObject",
          key,
          cause: `${body.byteLength} bytes is over the ${m.maxBytes}-byte limit`,
        }),
      )
    }
    const object = storeObject(m, key, body, encodeMetadata(metadataOf(m.registry, document)))
    return Effect.succeed({ key, etag: object.etag })
  })

const deleteObject = (m: Memory, kind: string, id: string, conditions: DeleteConditions | undefined) =>
  Effect.clockWith((clock) => {
    const key = memoryKeyOf(m, kind, id)
    const past = late("DeleteObject", key, conditions, clock.unsafeCurrentTimeMillis())
    if (past !== undefined) return Effect.fail(past)
    const failed = precondition(m, "DeleteObject", key, conditions)
    if (failed !== undefined) return Effect.fail(failed)
    m.objects.delete(key)
    return Effect.void
  })

/**
 * Builds a memory store: keyed by exact key, MD5 ETags, `lastModified`, Docket's
 * metadata, listings in UTF-8 order with pagination and `startAfter`, the same
 * size limit and decode errors as the S3 backend. Each operation is a named step
 * above (`putDocument`, `readObject`, `deleteObject`, `listObjects`, ...) over
 * the `Memory` record built here once.
 */
export const makeMemory = (
  options: MemoryOptions = {},
): Effect.Effect<MemoryStore, never, DocumentKind.DocumentKinds> =>
  Effect.gen(function* () {
    const registry = yield* DocumentKind.DocumentKinds
    // The listing is a Stream: imported when a memory store is built, so this port module
    // (on every path, the Lambda's cold start among them) loads no Stream.
    const listing = yield* Effect.promise(() => import("./internal/memoryStreams.js"))
    const m: Memory = {
      registry,
      prefix: options.prefix ?? "",
      bucket: options.bucket ?? "memory",
      pageSize: Math.max(1, options.pageSize ?? 1000),
      maxBytes: options.maxObjectBytes ?? DefaultMaxObjectBytes,
      conditional: options.conditional !== false,
      objects: new Map<string, MemoryObject>(),
      encoder: new TextEncoder(),
    }
    const service: MemoryStore = {
      keyOf: (kind, id) => memoryKeyOf(m, kind, id),
      put: (document, conditions) => putDocument(m, document, conditions),
      get: (kind, id) => readObject(m, memoryKeyOf(m, kind, id)),
      getKey: (key) => readObject(m, key),
      head: (key) =>
        Effect.sync(() => {
          const object = m.objects.get(key)
          return object === undefined ? Option.none() : Option.some(infoOf(key, object, true))
        }),
      delete: (kind, id, conditions) => deleteObject(m, kind, id, conditions),
      list: (listOptions = {}) =>
        listing.memoryList(
          m.objects,
          m.prefix + (listOptions.prefix ?? ""),
          m.pageSize,
          listOptions.startAfter,
          (key, object) => infoOf(key, object, false),
        ),
      putRaw: (key, body, metadata = {}) =>
        Effect.sync(() => {
          storeObject(m, key, typeof body === "string" ? m.encoder.encode(body) : body, metadata)
        }),
      objects: Effect.sync(() => new Map(m.objects)),
    }
    return service
  })

/** A memory {@link DocumentStore} (needs the document kinds). */
export const layerMemory = (
  options: MemoryOptions = {},
): Layer.Layer<DocumentStore, never, DocumentKind.DocumentKinds> => Layer.effect(DocumentStore, makeMemory(options))

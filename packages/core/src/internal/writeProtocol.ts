/**
 * The write protocol of `WriteThrough` for one write and one delete with the
 * cache on (see that module's docs), each step named: `writeCached` (intent, S3
 * put, `commitPut`; after a failed put `resolveFailedPut`, with `replaceOlder`)
 * and `deleteCached` (intent, S3 delete, `commitDelete`; `resolveFailedDelete`).
 * They run over one {@link Protocol} record that `WriteThrough.makeWith` builds
 * once; the steps both share are `writeSteps.ts`.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as CacheEntry from "../CacheEntry.js"
import type * as DocketConfig from "../DocketConfig.js"
import type * as Document from "../Document.js"
import * as DocumentCache from "../DocumentCache.js"
import * as DocumentStore from "../DocumentStore.js"
import * as Heal from "../Heal.js"
import { WriteConflictError } from "./writeErrors.js"
import type { DeleteResult, WriteResult } from "./writeResult.js"
import * as Steps from "./writeSteps.js"

/** What a write or delete uses, built once by `WriteThrough.makeWith`. */
export interface Protocol {
  readonly store: DocumentStore.Service
  readonly settings: DocketConfig.Settings
  readonly leaseMillis: number
  readonly steps: ReturnType<typeof Steps.make>
}

/** `restore` of `Effect.uninterruptibleMask`: the S3 and intent calls stay interruptible, the rest not. */
type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** A write whose intent is recorded: what its S3 put, the recovery and the commit need. */
interface PutInFlight {
  readonly document: Document.AnyDocument
  readonly key: string
  readonly s3Key: string
  readonly writer: string
  /** The ETag our put gives the object (how a HEAD recognises it). */
  readonly etag: string
  readonly previous: Option.Option<CacheEntry.Entry>
  readonly deadline: number
}

/** The intent this writer records, its lease counted from the moment it is sent. */
const intentRequest =
  (p: Protocol, intent: Omit<DocumentCache.IntentRequest, "leaseExpiresAt">) =>
  (now: number): DocumentCache.IntentRequest => ({ ...intent, leaseExpiresAt: now + p.leaseMillis })

/** The put landed: commit the document and clear our intent in one transaction. */
const commitPut = (p: Protocol, w: PutInFlight, etag: string) => {
  const { kind, id, version } = w.document
  const { key, s3Key, writer, previous } = w
  return Effect.as(
    p.steps.commit(
      "write",
      { kind, id, writer, previous, change: { _tag: "Put", document: w.document, s3Key, etag } },
      s3Key,
    ),
    { _tag: "Written", key, s3Key, version, etag, previous, repaired: false } as WriteResult,
  )
}

/**
 * S3 refused the put's condition and holds an older version the cache did not know
 * (a foreign write, an earlier protocol): replace exactly that object, once; a newer
 * or equal version there makes the write stale.
 */
const replaceOlder = (
  p: Protocol,
  restore: Restore,
  w: PutInFlight,
  error: DocumentStore.StoreError,
  head: Option.Option<DocumentStore.ObjectInfo>,
) =>
  Effect.gen(function* () {
    const { kind, id, version } = w.document
    const { clear, bounded, settle } = p.steps
    const there = Option.flatMap(head, (info) => info.metadata)
    const storedVersion = Option.getOrUndefined(Option.map(there, (m) => m.version))
    if (storedVersion !== undefined && storedVersion >= version) {
      yield* clear("write", kind, id, w.writer, w.s3Key, error)
      return yield* new DocumentCache.StaleWriteError({
        key: w.key,
        attemptedVersion: version,
        storedVersion,
        reason: storedVersion > version ? "OlderVersion" : "SameVersionDifferentContent",
      })
    }
    const retry = Option.match(head, {
      onNone: () => ({ ifNoneMatch: "*" as const }),
      onSome: (info) => ({ ifMatch: info.etag }),
    })
    const put = yield* Effect.exit(
      restore(bounded("PutObject", w.s3Key, w.deadline, (bound) => p.store.put(w.document, { ...retry, ...bound }))),
    )
    if (Exit.isSuccess(put)) return yield* commitPut(p, w, put.value.etag)
    const again = Option.getOrUndefined(Steps.failureOf(put.cause))
    if (again !== undefined && DocumentStore.isPreconditionFailed(again)) {
      yield* clear("write", kind, id, w.writer, w.s3Key, again)
      return yield* new WriteConflictError({
        reason: "StoreChanged",
        operation: "write",
        key: w.key,
        otherVersion: storedVersion,
        waitedMillis: 0,
      })
    }
    return yield* settle(put.cause, w.key, w.s3Key, kind, id, w.writer, version, "write")
  })

/**
 * The put failed: HEAD the object. Our ETag there: it landed after all (a lost
 * answer), commit. A refused condition: `replaceOlder`. S3's state unknown: the
 * intent stays (`unsettled`). Otherwise clear our intent and report the rollback.
 */
const resolveFailedPut = (
  p: Protocol,
  restore: Restore,
  w: PutInFlight,
  failure: Cause.Cause<DocumentStore.StoreError>,
) =>
  Effect.gen(function* () {
    const { kind, id, version } = w.document
    const error = Option.getOrUndefined(Steps.failureOf(failure))
    const head = yield* Effect.exit(p.store.head(w.s3Key))
    if (Exit.isSuccess(head) && Option.isSome(head.value) && head.value.value.etag === w.etag) {
      return yield* commitPut(p, w, w.etag)
    }
    if (error !== undefined && DocumentStore.isPreconditionFailed(error) && Exit.isSuccess(head)) {
      return yield* replaceOlder(p, restore, w, error, head.value)
    }
    if (Exit.isFailure(head)) {
      const cause = error ?? Steps.interrupted("PutObject", w.s3Key)
      const headCause = Option.getOrElse(Steps.failureOf(head.cause), () => Steps.interrupted("HeadObject", w.s3Key))
      yield* p.steps.unsettled("write", w.key, w.s3Key, cause, headCause)
    }
    return yield* p.steps.settle(failure, w.key, w.s3Key, kind, id, w.writer, version, "write")
  })

/** A write with the cache on: intent, S3 put, commit (see the module docs). */
export const writeCached = (p: Protocol, document: Document.AnyDocument, key: string, s3Key: string) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const { kind, id, version } = document
      const { acquire, prepare, bounded, conditionsOf } = p.steps
      const writer = randomUUID()
      const etag = DocumentStore.expectedEtag(document)
      const request = intentRequest(p, { kind, id, writer, s3Key, change: { _tag: "Put", document, etag } })
      const { recorded, leaseExpiresAt } = yield* restore(acquire("write", key, request))
      if (recorded._tag === "Unchanged") return { _tag: "Unchanged", key, s3Key, version } as WriteResult
      const prepared = yield* restore(prepare("write", key, request, leaseExpiresAt, recorded.previous))
      if (prepared._tag === "Unchanged") return { _tag: "Unchanged", key, s3Key, version } as WriteResult
      const { previous, deadline } = prepared
      const w: PutInFlight = { document, key, s3Key, writer, etag, previous, deadline }
      const put = yield* Effect.exit(
        restore(
          bounded("PutObject", s3Key, deadline, (bound) =>
            p.store.put(document, { ...conditionsOf(previous), ...bound }),
          ),
        ),
      )
      if (Exit.isSuccess(put)) return yield* commitPut(p, w, put.value.etag)
      return yield* resolveFailedPut(p, restore, w, put.cause)
    }),
  )

/** A delete whose intent is recorded: what its S3 delete, the recovery and the commit need. */
interface DeleteInFlight {
  readonly kind: string
  readonly id: string
  readonly key: string
  readonly s3Key: string
  readonly writer: string
  readonly previous: Option.Option<CacheEntry.Entry>
}

/** The object is gone: commit a tombstone and clear our intent in one transaction. */
const commitDelete = (p: Protocol, d: DeleteInFlight) =>
  Effect.as(
    p.steps.commit(
      "delete",
      {
        kind: d.kind,
        id: d.id,
        writer: d.writer,
        previous: d.previous,
        change: { _tag: "Delete", ttlSeconds: Heal.tombstoneTtlSeconds },
      },
      d.s3Key,
    ),
    { _tag: "Deleted", key: d.key, s3Key: d.s3Key, previous: d.previous } as DeleteResult,
  )

/**
 * The S3 delete failed: HEAD the object. Gone: commit. S3's state unknown: the
 * intent stays (`unsettled`). A refused condition: a conflict, our intent cleared.
 * Otherwise clear our intent and report the rollback.
 */
const resolveFailedDelete = (p: Protocol, d: DeleteInFlight, failure: Cause.Cause<DocumentStore.StoreError>) =>
  Effect.gen(function* () {
    const { kind, id, key, s3Key, writer } = d
    const error = Option.getOrUndefined(Steps.failureOf(failure))
    const head = yield* Effect.exit(p.store.head(s3Key))
    if (Exit.isSuccess(head) && Option.isNone(head.value)) return yield* commitDelete(p, d)
    if (Exit.isFailure(head)) {
      const headCause = Option.getOrElse(Steps.failureOf(head.cause), () => Steps.interrupted("HeadObject", s3Key))
      return yield* p.steps.unsettled(
        "delete",
        key,
        s3Key,
        error ?? Steps.interrupted("DeleteObject", s3Key),
        headCause,
      )
    }
    if (error !== undefined && DocumentStore.isPreconditionFailed(error)) {
      yield* p.steps.clear("delete", kind, id, writer, s3Key, error)
      return yield* new WriteConflictError({
        reason: "StoreChanged",
        operation: "delete",
        key,
        otherVersion: Option.getOrUndefined(
          Option.flatMap(head.value, (info) => Option.map(info.metadata, (m) => m.version)),
        ),
        waitedMillis: 0,
      })
    }
    const result = yield* p.steps.settle(failure, key, s3Key, kind, id, writer, undefined, "delete")
    const { version: _, ...rest } = result as typeof result & { version?: number }
    return rest as DeleteResult
  })

/** A delete with the cache on: intent, S3 delete `If-Match` the committed ETag, tombstone commit. */
export const deleteCached = (p: Protocol, kind: string, id: string, key: string, s3Key: string) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const { acquire, prepare, bounded } = p.steps
      const writer = randomUUID()
      const request = intentRequest(p, { kind, id, writer, s3Key, change: { _tag: "Delete" } })
      const { recorded, leaseExpiresAt } = yield* restore(acquire("delete", key, request))
      const prepared = yield* restore(
        prepare(
          "delete",
          key,
          request,
          leaseExpiresAt,
          recorded._tag === "Recorded" ? recorded.previous : Option.some(recorded.current),
        ),
      )
      // A delete intent is never `Unchanged`: the renewal of one is recorded, refused or fails.
      if (prepared._tag === "Unchanged") return yield* Effect.dieMessage(`delete of ${key}: unexpected Unchanged`)
      const { previous, deadline } = prepared
      const d: DeleteInFlight = { kind, id, key, s3Key, writer, previous }
      const known = Option.flatMap(previous, (e) =>
        e._tag === "Cached" && e.etag !== undefined ? Option.some(e.etag) : Option.none(),
      )
      const done = yield* Effect.exit(
        restore(
          bounded("DeleteObject", s3Key, deadline, (bound) =>
            p.store.delete(kind, id, {
              ...Option.match(known, { onNone: () => ({}), onSome: (ifMatch) => ({ ifMatch }) }),
              ...bound,
            }),
          ),
        ),
      )
      if (Exit.isSuccess(done)) return yield* commitDelete(p, d)
      return yield* resolveFailedDelete(p, d, done.cause)
    }),
  )

/**
 * Write-through, by the write protocol of DESIGN section 6. S3 is the commit
 * point and the cache is never ahead of it. A write is three sequential round
 * trips, none of them a read:
 *
 * 1. *intent* ({@link DocumentCache.Service.intend}): one conditional write
 *    records `{version, etag, writer, lease}` next to the committed document
 *    and returns the prior state. An older version is a
 *    {@link DocumentCache.StaleWriteError}, the same document `Unchanged`.
 *    Another writer's live intent: wait with jittered backoff up to
 *    `DOCKET_WRITE_WAIT`, then {@link WriteConflictError}; an expired one
 *    (a dead writer) is resolved first (`Heal.resolve`).
 * 2. *S3*: the put (or delete) `If-Match` the committed ETag, `If-None-Match: *`
 *    when nothing was committed. The whole call, retries included, is bounded
 *    by {@link Options.putBudget}, shorter than the lease, and starts only with
 *    a whole budget of lease left (the writer renews its lease first when it has
 *    less): no put of ours is in flight once the lease has run out. A refused
 *    condition ends the write as a conflict (or as stale, when S3 holds a newer
 *    version), never as an overwrite.
 * 3. *commit* ({@link DocumentCache.Service.commit}): one transaction writes the
 *    committed document (or a tombstone) and its customer items and clears the
 *    intent, guarded by our writer id.
 *
 * On an S3 failure the writer HEADs the object: our ETag there means the put
 * landed (commit); otherwise it clears its intent and nothing else (`RolledBack`,
 * `Restored`): the committed state was never touched. When S3's state cannot be
 * learned, or the commit fails, the intent stays and is resolved from S3 when
 * its lease expires ({@link RollbackFailedError} names the key). A writer that
 * dies anywhere leaves at most an intent, which readers never see.
 *
 * Invariant 1: when `write` or `delete` returns, the cache and S3 agree for the
 * key, or the cache holds the older committed state with our intent cleared
 * and S3 unchanged, or the error is a {@link RollbackFailedError}.
 * Cache disabled: S3 alone. Dry-run: reads only, logs what it would do.
 * docs/write-through.md has the argument.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CacheMetrics from "./CacheMetrics.js"
import * as DocketConfig from "./DocketConfig.js"
import type * as Document from "./Document.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentStore from "./DocumentStore.js"
import * as Heal from "./Heal.js"
import { type RollbackFailedError, WriteConflictError } from "./internal/writeErrors.js"
import type { DeleteResult, WriteResult } from "./internal/writeResult.js"
import * as Steps from "./internal/writeSteps.js"
import * as OperationLog from "./OperationLog.js"

export { type Rollback, RollbackFailedError, WriteConflictError } from "./internal/writeErrors.js"
export type { DeleteResult, WriteResult } from "./internal/writeResult.js"

/** Errors of {@link Service.write}. */
export type WriteError =
  | DocumentCache.StaleWriteError
  | DocumentCache.CacheError
  | DocumentStore.StoreError
  | RollbackFailedError
  | WriteConflictError

/** Errors of {@link Service.delete}. */
export type DeleteError = DocumentCache.CacheError | DocumentStore.StoreError | RollbackFailedError | WriteConflictError

/** The WriteThrough service. */
export interface Service {
  /** Writes a document to the cache and S3 (see the module docs). */
  readonly write: (document: Document.AnyDocument) => Effect.Effect<WriteResult, WriteError>
  /** Deletes a document from S3 and commits a tombstone in the cache, by the same protocol. */
  readonly delete: (kind: string, id: string) => Effect.Effect<DeleteResult, DeleteError>
}

/** The WriteThrough service tag. */
export class WriteThrough extends Context.Tag("@docket/core/WriteThrough")<WriteThrough, Service>() {}

/** Timing of the protocol. */
export interface Options {
  /** How long an intent holds a document (default 15 s). */
  readonly lease?: Duration.DurationInput
  /**
   * The longest the S3 call of a write may take, retries included (default
   * 10 s). Must be shorter than the lease: the rest is the commit's margin.
   */
  readonly putBudget?: Duration.DurationInput
}

/** The default lease: 15 s. */
export const defaultLease: Duration.Duration = Duration.seconds(15)

/** The default S3 budget of a write: 10 s (the lease minus a 5 s commit margin). */
export const defaultPutBudget: Duration.Duration = Duration.seconds(10)

const countWrite = CacheMetrics.incrementTagged(CacheMetrics.writes, "outcome")

/** Builds the service over the ports in context, with the protocol's timing. */
export const makeWith = (
  options: Options = {},
): Effect.Effect<
  Service,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig
> =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    const store = yield* DocumentStore.DocumentStore
    const settings = yield* DocketConfig.DocketConfig
    const leaseMillis = Duration.toMillis(Duration.decode(options.lease ?? defaultLease))
    const budget = Duration.decode(options.putBudget ?? defaultPutBudget)
    if (Duration.toMillis(budget) >= leaseMillis) {
      return yield* Effect.dieMessage("WriteThrough: putBudget must be shorter than the lease")
    }
    const { prepare, bounded, acquire, clear, commit, unsettled, conditionsOf, settle, dryRunWrite } = Steps.make({
      cache,
      store,
      settings,
      leaseMillis,
      budget,
    })
    const { failureOf, interrupted, describeResult } = Steps

    const writeCached = (document: Document.AnyDocument, key: string, s3Key: string) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const { kind, id, version } = document
          const writer = randomUUID()
          const etag = DocumentStore.expectedEtag(document)
          const request = (now: number): DocumentCache.IntentRequest => ({
            kind,
            id,
            writer,
            s3Key,
            leaseExpiresAt: now + leaseMillis,
            change: { _tag: "Put", document, etag },
          })
          const { recorded, leaseExpiresAt } = yield* restore(acquire("write", key, request))
          if (recorded._tag === "Unchanged") return { _tag: "Unchanged", key, s3Key, version } as WriteResult
          const prepared = yield* restore(prepare("write", key, request, leaseExpiresAt, recorded.previous))
          if (prepared._tag === "Unchanged") return { _tag: "Unchanged", key, s3Key, version } as WriteResult
          const { previous, deadline } = prepared
          const written = (out: { readonly etag: string }) =>
            Effect.as(
              commit(
                "write",
                { kind, id, writer, previous, change: { _tag: "Put", document, s3Key, etag: out.etag } },
                s3Key,
              ),
              { _tag: "Written", key, s3Key, version, etag: out.etag, previous, repaired: false } as WriteResult,
            )
          let put = yield* Effect.exit(
            restore(bounded("PutObject", s3Key, deadline, store.put(document, conditionsOf(previous)))),
          )
          if (Exit.isSuccess(put)) return yield* written(put.value)
          // Did it land after all (a lost answer), or does S3 hold something the cache did not know of?
          const error = Option.getOrUndefined(failureOf(put.cause))
          const head = yield* Effect.exit(store.head(s3Key))
          if (Exit.isSuccess(head) && Option.isSome(head.value) && head.value.value.etag === etag) {
            return yield* written({ etag })
          }
          if (error !== undefined && DocumentStore.isPreconditionFailed(error) && Exit.isSuccess(head)) {
            const there = Option.flatMap(head.value, (info) => info.metadata)
            const storedVersion = Option.getOrUndefined(Option.map(there, (m) => m.version))
            if (storedVersion !== undefined && storedVersion >= version) {
              yield* clear("write", kind, id, writer, s3Key, error)
              return yield* new DocumentCache.StaleWriteError({
                key,
                attemptedVersion: version,
                storedVersion,
                reason: storedVersion > version ? "OlderVersion" : "SameVersionDifferentContent",
              })
            }
            // S3 holds an older version the cache did not know (a foreign write, an earlier protocol): replace
            // exactly that object, once.
            const retry = Option.match(head.value, {
              onNone: () => ({ ifNoneMatch: "*" as const }),
              onSome: (info) => ({ ifMatch: info.etag }),
            })
            put = yield* Effect.exit(restore(bounded("PutObject", s3Key, deadline, store.put(document, retry))))
            if (Exit.isSuccess(put)) return yield* written(put.value)
            const again = Option.getOrUndefined(failureOf(put.cause))
            if (again !== undefined && DocumentStore.isPreconditionFailed(again)) {
              yield* clear("write", kind, id, writer, s3Key, again)
              return yield* new WriteConflictError({
                reason: "StoreChanged",
                operation: "write",
                key,
                otherVersion: storedVersion,
                waitedMillis: 0,
              })
            }
            return yield* settle(put.cause, key, s3Key, kind, id, writer, version, "write")
          }
          if (Exit.isFailure(head)) {
            const cause = error ?? interrupted("PutObject", s3Key)
            const headCause = Option.getOrElse(failureOf(head.cause), () => interrupted("HeadObject", s3Key))
            yield* unsettled("write", key, s3Key, cause, headCause)
          }
          return yield* settle(put.cause, key, s3Key, kind, id, writer, version, "write")
        }),
      )

    const write: Service["write"] = (document) => {
      const key = `${document.kind}/${document.id}`
      const s3Key = store.keyOf(document.kind, document.id)
      const run: Effect.Effect<WriteResult, WriteError> = settings.dryRun
        ? dryRunWrite(document, key, s3Key)
        : settings.cacheEnabled
          ? (writeCached(document, key, s3Key) as Effect.Effect<WriteResult, WriteError>)
          : Effect.map(
              store.put(document),
              (out): WriteResult => ({
                _tag: "Written",
                key,
                s3Key,
                version: document.version,
                etag: out.etag,
                previous: Option.none(),
                repaired: false,
              }),
            )
      return run.pipe(
        Effect.tap((result) =>
          countWrite(
            result._tag === "RolledBack"
              ? "rolled-back"
              : result._tag === "DryRun"
                ? "dry-run"
                : result._tag.toLowerCase(),
          ),
        ),
        Effect.tapError((error) =>
          countWrite(
            error._tag === "StaleWriteError" ? "stale" : error._tag === "WriteConflictError" ? "conflict" : "failed",
          ),
        ),
        OperationLog.logged(
          "writeThrough.write",
          {
            key,
            s3Key,
            version: document.version,
            ...(settings.cacheEnabled ? {} : { cache: "off" }),
            ...(settings.dryRun ? { dryRun: true } : {}),
          },
          { describe: describeResult },
        ),
      )
    }

    const deleteCached = (kind: string, id: string, key: string, s3Key: string) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const writer = randomUUID()
          const request = (now: number): DocumentCache.IntentRequest => ({
            kind,
            id,
            writer,
            s3Key,
            leaseExpiresAt: now + leaseMillis,
            change: { _tag: "Delete" },
          })
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
          const deleted = Effect.as(
            commit(
              "delete",
              { kind, id, writer, previous, change: { _tag: "Delete", ttlSeconds: Heal.tombstoneTtlSeconds } },
              s3Key,
            ),
            { _tag: "Deleted", key, s3Key, previous } as DeleteResult,
          )
          const known = Option.flatMap(previous, (e) =>
            e._tag === "Cached" && e.etag !== undefined ? Option.some(e.etag) : Option.none(),
          )
          const done = yield* Effect.exit(
            restore(
              bounded(
                "DeleteObject",
                s3Key,
                deadline,
                store.delete(kind, id, Option.match(known, { onNone: () => ({}), onSome: (ifMatch) => ({ ifMatch }) })),
              ),
            ),
          )
          if (Exit.isSuccess(done)) return yield* deleted
          const error = Option.getOrUndefined(failureOf(done.cause))
          const head = yield* Effect.exit(store.head(s3Key))
          if (Exit.isSuccess(head) && Option.isNone(head.value)) return yield* deleted
          if (Exit.isFailure(head)) {
            const headCause = Option.getOrElse(failureOf(head.cause), () => interrupted("HeadObject", s3Key))
            return yield* unsettled("delete", key, s3Key, error ?? interrupted("DeleteObject", s3Key), headCause)
          }
          if (error !== undefined && DocumentStore.isPreconditionFailed(error)) {
            yield* clear("delete", kind, id, writer, s3Key, error)
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
          const result = yield* settle(done.cause, key, s3Key, kind, id, writer, undefined, "delete")
          const { version: _, ...rest } = result as typeof result & { version?: number }
          return rest as DeleteResult
        }),
      )

    const remove: Service["delete"] = (kind, id) => {
      const key = `${kind}/${id}`
      const s3Key = store.keyOf(kind, id)
      const run: Effect.Effect<DeleteResult, DeleteError> = settings.dryRun
        ? Effect.succeed({
            _tag: "DryRun",
            key,
            s3Key,
            actions: [
              ...(settings.cacheEnabled ? [`record delete intent on cache ${key}`] : []),
              `delete s3 ${s3Key}`,
              ...(settings.cacheEnabled ? [`commit a tombstone for ${key}; on S3 failure: clear the intent only`] : []),
            ],
          })
        : settings.cacheEnabled
          ? (deleteCached(kind, id, key, s3Key) as Effect.Effect<DeleteResult, DeleteError>)
          : Effect.as(store.delete(kind, id), { _tag: "Deleted", key, s3Key, previous: Option.none() } as DeleteResult)
      return run.pipe(
        OperationLog.logged(
          "writeThrough.delete",
          {
            key,
            s3Key,
            ...(settings.cacheEnabled ? {} : { cache: "off" }),
            ...(settings.dryRun ? { dryRun: true } : {}),
          },
          { describe: describeResult },
        ),
      )
    }

    return { write, delete: remove }
  })

/** Builds the service over the ports in context, with the default lease and S3 budget. */
export const make: Effect.Effect<
  Service,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig
> = makeWith()

/** Provides {@link WriteThrough} over the ports and settings in context. */
export const layer: Layer.Layer<
  WriteThrough,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig
> = Layer.effect(WriteThrough, make)

/** Provides {@link WriteThrough} with the protocol's timing. */
export const layerWith = (
  options: Options,
): Layer.Layer<
  WriteThrough,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig
> => Layer.effect(WriteThrough, makeWith(options))

/** Writes through the service in context. */
export const write = (document: Document.AnyDocument): Effect.Effect<WriteResult, WriteError, WriteThrough> =>
  Effect.flatMap(WriteThrough, (service) => service.write(document))

/** Deletes through the service in context. */
export const remove = (kind: string, id: string): Effect.Effect<DeleteResult, DeleteError, WriteThrough> =>
  Effect.flatMap(WriteThrough, (service) => service.delete(kind, id))

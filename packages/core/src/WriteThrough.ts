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
 *    by {@link Options.putBudget} (passed to the store as the call's deadline,
 *    `DocumentStore.Deadline`, which the store enforces with its own timers),
 *    shorter than the lease, and starts only with
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
 * Each step is a named function: `writeDocument` / `deleteDocument` (dry run,
 * cache on or off), `writeCached` / `deleteCached` (the protocol), `commitPut` /
 * `commitDelete`, and after a failed S3 call `resolveFailedPut` (with
 * `replaceOlder`) / `resolveFailedDelete`, in `internal/writeProtocol.ts`; the
 * shared steps (acquire, prepare, bounded, clear, settle) are `internal/writeSteps.ts`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CacheMetrics from "./CacheMetrics.js"
import * as DocketConfig from "./DocketConfig.js"
import type * as Document from "./Document.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentStore from "./DocumentStore.js"
import type { RollbackFailedError, WriteConflictError } from "./internal/writeErrors.js"
import * as Protocol from "./internal/writeProtocol.js"
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

const countWriteOutcome = (result: WriteResult) =>
  countWrite(
    result._tag === "RolledBack" ? "rolled-back" : result._tag === "DryRun" ? "dry-run" : result._tag.toLowerCase(),
  )

const countWriteError = (error: WriteError) =>
  countWrite(error._tag === "StaleWriteError" ? "stale" : error._tag === "WriteConflictError" ? "conflict" : "failed")

/** A write: dry run, cache on (the protocol) or cache off (S3 alone); counted and logged. */
const writeDocument = (
  p: Protocol.Protocol,
  document: Document.AnyDocument,
): Effect.Effect<WriteResult, WriteError> => {
  const { settings } = p
  const key = `${document.kind}/${document.id}`
  const s3Key = p.store.keyOf(document.kind, document.id)
  const run: Effect.Effect<WriteResult, WriteError> = settings.dryRun
    ? p.steps.dryRunWrite(document, key, s3Key)
    : settings.cacheEnabled
      ? (Protocol.writeCached(p, document, key, s3Key) as Effect.Effect<WriteResult, WriteError>)
      : Effect.map(
          p.store.put(document),
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
    Effect.tapBoth({ onSuccess: countWriteOutcome, onFailure: countWriteError }),
    OperationLog.logged(
      "writeThrough.write",
      {
        key,
        s3Key,
        version: document.version,
        ...(settings.cacheEnabled ? {} : { cache: "off" }),
        ...(settings.dryRun ? { dryRun: true } : {}),
      },
      { describe: Steps.describeResult },
    ),
  )
}

/** A delete: dry run, cache on (the protocol) or cache off (S3 alone); logged. */
const deleteDocument = (p: Protocol.Protocol, kind: string, id: string): Effect.Effect<DeleteResult, DeleteError> => {
  const { settings } = p
  const key = `${kind}/${id}`
  const s3Key = p.store.keyOf(kind, id)
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
      ? (Protocol.deleteCached(p, kind, id, key, s3Key) as Effect.Effect<DeleteResult, DeleteError>)
      : Effect.as(p.store.delete(kind, id), { _tag: "Deleted", key, s3Key, previous: Option.none() } as DeleteResult)
  return run.pipe(
    OperationLog.logged(
      "writeThrough.delete",
      {
        key,
        s3Key,
        ...(settings.cacheEnabled ? {} : { cache: "off" }),
        ...(settings.dryRun ? { dryRun: true } : {}),
      },
      { describe: Steps.describeResult },
    ),
  )
}

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
    const p: Protocol.Protocol = {
      store,
      settings,
      leaseMillis,
      steps: Steps.make({ cache, store, settings, leaseMillis, budget }),
    }
    return {
      write: (document) => writeDocument(p, document),
      delete: (kind, id) => deleteDocument(p, kind, id),
    }
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

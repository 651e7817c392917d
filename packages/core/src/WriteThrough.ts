/**
 * Write-through (DESIGN section 6): a conditional cache write (the version
 * rule), then the S3 put (with the store's retries), then, when S3 failed, the
 * cache is restored to exactly its prior state, conditionally on still holding
 * the version we wrote, so a newer concurrent write is never clobbered.
 *
 * What a caller can rely on (invariant 1): when `write` or `delete` returns,
 * the cache and S3 agree for that key, or the cache has no entry for it, or the
 * error is a {@link RollbackFailedError} naming the key (logged, and counted in
 * `CacheMetrics.reconcileNeeded`). docs/write-through.md has the details.
 *
 * - Same document twice: `Unchanged`, after a HEAD confirms S3 holds that
 *   version (when it does not, e.g. after an earlier failed rollback, the
 *   object is written again: `Written` with `repaired: true`).
 * - An older version: {@link DocumentCache.StaleWriteError}.
 * - After any S3 failure a HEAD decides whether the put landed anyway (an
 *   attempt whose answer was lost); when even that fails the cache entry is
 *   evicted instead of restored. After a failed cache write, our version is
 *   taken out of the cache again (it may have landed).
 * - Writes of one key are serialised within the service; across processes the
 *   version rule and conditional restore still hold (see the docs for the limit).
 * - Cache disabled: S3 alone. Dry-run: reads only, logs what it would do.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as CacheEntry from "./CacheEntry.js"
import * as CacheMetrics from "./CacheMetrics.js"
import * as DocketConfig from "./DocketConfig.js"
import * as Document from "./Document.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentStore from "./DocumentStore.js"
import * as OperationLog from "./OperationLog.js"

/** How a rollback ended. */
export type Rollback =
  /** The cache holds exactly what it held before our write. */
  | "Restored"
  /** A newer write replaced ours in the cache first; it was left alone. */
  | "Superseded"
  /** S3's state could not be learned: the cache entry was removed instead (reads go to S3). */
  | "Evicted"

/** What a write did. */
export type WriteResult =
  | {
      readonly _tag: "Written"
      /** `kind/id`. */
      readonly key: string
      readonly s3Key: string
      readonly version: number
      readonly etag: string
      /** The cache entry our write replaced (None with the cache off). */
      readonly previous: Option.Option<CacheEntry.Entry>
      /** True when the cache already had this version but S3 did not: S3 was written again. */
      readonly repaired: boolean
    }
  | { readonly _tag: "Unchanged"; readonly key: string; readonly s3Key: string; readonly version: number }
  | {
      readonly _tag: "RolledBack"
      readonly key: string
      readonly s3Key: string
      readonly version: number
      /** Why S3 did not take the write (after its retries). */
      readonly cause: DocumentStore.StoreError
      readonly rollback: Rollback
    }
  | {
      readonly _tag: "DryRun"
      readonly key: string
      readonly s3Key: string
      readonly version: number
      /** What would happen, in order. */
      readonly actions: ReadonlyArray<string>
    }

/** What a delete did. */
export type DeleteResult =
  | {
      readonly _tag: "Deleted"
      readonly key: string
      readonly s3Key: string
      readonly previous: Option.Option<CacheEntry.Entry>
    }
  | {
      readonly _tag: "RolledBack"
      readonly key: string
      readonly s3Key: string
      readonly cause: DocumentStore.StoreError
      readonly rollback: Rollback
    }
  | { readonly _tag: "DryRun"; readonly key: string; readonly s3Key: string; readonly actions: ReadonlyArray<string> }

/**
 * The cache could not be put back after a failure, so it may disagree with S3
 * for `key` until reconcile (or the next event for the key) repairs it.
 */
export class RollbackFailedError extends Data.TaggedError("RollbackFailedError")<{
  readonly operation: "write" | "delete"
  /** `kind/id`. */
  readonly key: string
  readonly s3Key: string
  /** What failed first (S3, or an ambiguous cache write). */
  readonly cause: DocumentStore.StoreError | DocumentCache.CacheError
  /** Why the rollback failed. */
  readonly rollbackCause: DocumentCache.CacheError
}> {
  readonly retryable = false
  override get message() {
    return `${this.operation} of ${this.key} (${this.s3Key}): ${this.cause.message}; rolling the cache back failed too (${this.rollbackCause.message}): the key is marked for reconcile`
  }
}

/** Errors of {@link Service.write}. */
export type WriteError =
  | DocumentCache.StaleWriteError
  | DocumentCache.ConditionFailedError
  | DocumentCache.CacheError
  | DocumentStore.StoreError
  | RollbackFailedError

/** Errors of {@link Service.delete}. */
export type DeleteError =
  | DocumentCache.CacheError
  | DocumentCache.ConditionFailedError
  | DocumentStore.StoreError
  | RollbackFailedError

/** The WriteThrough service. */
export interface Service {
  /** Writes a document to the cache and S3 (see the module docs). */
  readonly write: (document: Document.AnyDocument) => Effect.Effect<WriteResult, WriteError>
  /** Deletes a document from the cache and S3, with the same rollback rule. */
  readonly delete: (kind: string, id: string) => Effect.Effect<DeleteResult, DeleteError>
}

/** The WriteThrough service tag. */
export class WriteThrough extends Context.Tag("@docket/core/WriteThrough")<WriteThrough, Service>() {}

const countWrite = (outcome: string) => Metric.increment(Metric.tagged(CacheMetrics.writes, "outcome", outcome))
const countRollback = (outcome: string) => Metric.increment(Metric.tagged(CacheMetrics.rollbacks, "outcome", outcome))

/** One semaphore per key while in use: serialises write-throughs of a key within this service. */
const keyedLock = () => {
  const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
  return <A, E, R>(key: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        let lock = locks.get(key)
        if (lock === undefined) {
          lock = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
          locks.set(key, lock)
        }
        lock.users += 1
        return lock
      }),
      (lock) => lock.semaphore.withPermits(1)(self),
      (lock) =>
        Effect.sync(() => {
          lock.users -= 1
          if (lock.users === 0) locks.delete(key)
        }),
    )
}

/** The stale write, as the cause of the rollback it triggers. */
const staleCause = (s3Key: string, stale: DocumentCache.StaleWriteError) =>
  new DocumentStore.StoreError({ reason: "Invalid", operation: "HeadObject", key: s3Key, cause: stale.message })

const sameEntry = (a: Option.Option<CacheEntry.Entry>, b: Option.Option<CacheEntry.Entry>): boolean =>
  Document.canonicalJson(Option.getOrNull(a)) === Document.canonicalJson(Option.getOrNull(b))

/** Builds the service over the ports in context. */
export const make: Effect.Effect<
  Service,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig
> = Effect.gen(function* () {
  const cache = yield* DocumentCache.DocumentCache
  const store = yield* DocumentStore.DocumentStore
  const settings = yield* DocketConfig.DocketConfig
  const lock = keyedLock()

  /** Logs the rollback and counts it; a failure is marked for reconcile. */
  const rollbackLogged = <A>(
    operation: "write" | "delete",
    key: string,
    s3Key: string,
    cause: DocumentStore.StoreError | DocumentCache.CacheError,
    self: Effect.Effect<A, DocumentCache.CacheError>,
    describe: (a: A) => OperationLog.Fields,
  ): Effect.Effect<A, RollbackFailedError> =>
    self.pipe(
      Effect.tap((a) => countRollback(describe(a).rollback === "Superseded" ? "superseded" : "ok")),
      Effect.mapError((rollbackCause) => new RollbackFailedError({ operation, key, s3Key, cause, rollbackCause })),
      Effect.tapError(() => Effect.zipRight(countRollback("failed"), Metric.increment(CacheMetrics.reconcileNeeded))),
      OperationLog.logged(`writeThrough.rollback`, { key, s3Key, of: operation, cause: cause.message }, { describe }),
    )

  /** Restores `previous` if the cache still holds what we put there. */
  const restoreTo = (
    kind: string,
    id: string,
    previous: Option.Option<CacheEntry.Entry>,
    condition: DocumentCache.Condition,
  ): Effect.Effect<Rollback, DocumentCache.CacheError> =>
    cache.restore(kind, id, previous, condition).pipe(
      Effect.as<Rollback>("Restored"),
      // A restore retried after a lost answer finds its own work done: tell that from a newer write.
      Effect.catchTag("ConditionFailedError", () =>
        Effect.map(current(kind, id), (now): Rollback => (sameEntry(now, previous) ? "Restored" : "Superseded")),
      ),
    )

  /** Removes our version from the cache (when S3's state is unknown). */
  const evict = (kind: string, id: string, version: number): Effect.Effect<Rollback, DocumentCache.CacheError> =>
    cache.delete(kind, id, { condition: { _tag: "VersionIs", version } }).pipe(
      Effect.as<Rollback>("Evicted"),
      Effect.catchTag("ConditionFailedError", () =>
        Effect.map(current(kind, id), (now): Rollback => (Option.isNone(now) ? "Evicted" : "Superseded")),
      ),
    )

  /** The entry now; a failure to read it counts as "somebody else's" (the conservative answer). */
  const current = (kind: string, id: string) =>
    cache
      .get(kind, id, { includeExpired: true })
      .pipe(Effect.orElseSucceed(() => Option.some<CacheEntry.Entry>({ _tag: "Tombstone", kind, id, expiresAt: 0 })))

  /** Whether S3 holds exactly `document`'s body (its ETag is the MD5 of the body Docket writes). */
  const holds = (info: DocumentStore.ObjectInfo, document: Document.AnyDocument): boolean =>
    info.etag === DocumentStore.etagOf(DocumentStore.encodeBody(document))

  /**
   * What S3's object says about our document. The version comes from the
   * object's metadata; for the same version with another ETag the body is read
   * and compared (another writer may format JSON differently). Advisory: a read
   * failure answers `Unknown`.
   */
  const compare = (
    info: Option.Option<DocumentStore.ObjectInfo>,
    document: Document.AnyDocument,
  ): Effect.Effect<
    | { readonly _tag: "Same"; readonly etag: string }
    | { readonly _tag: "Newer" | "Conflict"; readonly version: number }
    | { readonly _tag: "Unknown" }
  > => {
    if (Option.isNone(info)) return Effect.succeed({ _tag: "Unknown" })
    if (holds(info.value, document)) return Effect.succeed({ _tag: "Same", etag: info.value.etag })
    const version = Option.getOrUndefined(Option.map(info.value.metadata, (m) => m.version))
    if (version === undefined || version < document.version) return Effect.succeed({ _tag: "Unknown" })
    if (version > document.version) return Effect.succeed({ _tag: "Newer", version })
    return store.getKey(info.value.key).pipe(
      Effect.map((stored) =>
        Option.match(stored, {
          onNone: () => ({ _tag: "Unknown" }) as const,
          onSome: (s) =>
            Document.sameContent(s.document, document)
              ? ({ _tag: "Same", etag: s.etag } as const)
              : ({ _tag: "Conflict", version } as const),
        }),
      ),
      Effect.orElseSucceed(() => ({ _tag: "Unknown" }) as const),
    )
  }

  const s3Only = (document: Document.AnyDocument, key: string, s3Key: string) =>
    Effect.map(
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

  const dryRunWrite = (document: Document.AnyDocument, key: string, s3Key: string) =>
    Effect.gen(function* () {
      const actions: Array<string> = []
      if (settings.cacheEnabled) {
        const current = yield* cache.get(document.kind, document.id, { includeExpired: true })
        const cached = Option.flatMap(current, (e) =>
          e._tag === "Cached" ? Option.some(e) : Option.none<CacheEntry.CachedDocument>(),
        )
        if (Option.isSome(cached)) {
          const stored = cached.value.summary.version
          const same =
            stored === document.version &&
            cached.value.document !== undefined &&
            Document.sameContent(cached.value.document, document)
          if (
            stored > document.version ||
            (stored === document.version && !same && cached.value.document !== undefined)
          ) {
            return yield* new DocumentCache.StaleWriteError({
              key,
              attemptedVersion: document.version,
              storedVersion: stored,
              reason: stored > document.version ? "OlderVersion" : "SameVersionDifferentContent",
            })
          }
          if (same) {
            actions.push(`HEAD s3 ${s3Key} to confirm version ${document.version} (unchanged)`)
            return { _tag: "DryRun", key, s3Key, version: document.version, actions } as WriteResult
          }
        }
        actions.push(
          `put cache ${key} version ${document.version} (replacing ${Option.match(cached, { onNone: () => "nothing", onSome: (c) => `version ${c.summary.version}` })})`,
        )
      }
      actions.push(`put s3 ${s3Key} version ${document.version}`)
      if (settings.cacheEnabled) actions.push(`on S3 failure: restore cache ${key} to its prior state`)
      return { _tag: "DryRun", key, s3Key, version: document.version, actions } as WriteResult
    })

  const rolledBack =
    (key: string, s3Key: string, version: number) =>
    <E>(
      self: Effect.Effect<{ readonly cause: DocumentStore.StoreError; readonly rollback: Rollback }, E>,
    ): Effect.Effect<WriteResult, E> =>
      Effect.map(
        self,
        ({ cause, rollback }): WriteResult => ({ _tag: "RolledBack", key, s3Key, version, cause, rollback }),
      )

  const writeCached = (document: Document.AnyDocument, key: string, s3Key: string) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const { kind, id, version } = document
        const ours: DocumentCache.Condition = { _tag: "VersionIs", version }
        // The HEAD runs beside the cache write (no added latency): it tells whether S3 already has
        // this or a newer version, which the cache cannot know when it has no entry for the key.
        const [put, head] = yield* Effect.all(
          [Effect.exit(restore(cache.put(document, { s3Key }))), Effect.exit(restore(store.head(s3Key)))],
          { concurrency: 2 },
        )
        if (Exit.isFailure(put)) {
          const failure = put.cause
          const error = Option.getOrUndefined(failureOf(failure))
          // Any cache error may follow an attempt whose answer was lost (the backend retries), so the
          // write may have landed whatever the last error says: take our version out again.
          if (error === undefined || error._tag === "CacheError") {
            const cause =
              error?._tag === "CacheError"
                ? error
                : new DocumentCache.CacheError({ reason: "Unknown", operation: "put", key, cause: "interrupted" })
            yield* rollbackLogged("write", key, s3Key, cause, evict(kind, id, version), (r) => ({ rollback: r }))
          }
          return yield* Effect.failCause(failure)
        }
        const outcome = put.value
        const previous = outcome._tag === "Written" ? outcome.previous : Option.some<CacheEntry.Entry>(outcome.current)
        const seen = Exit.isSuccess(head) ? yield* compare(head.value, document) : ({ _tag: "Unknown" } as const)
        if (seen._tag === "Newer" || seen._tag === "Conflict") {
          // S3 has a newer version (or this version with other content) that the cache did not know of.
          const stale = new DocumentCache.StaleWriteError({
            key,
            attemptedVersion: version,
            storedVersion: seen.version,
            reason: seen._tag === "Newer" ? "OlderVersion" : "SameVersionDifferentContent",
          })
          yield* rollbackLogged(
            "write",
            key,
            s3Key,
            staleCause(s3Key, stale),
            outcome._tag === "Written" ? restoreTo(kind, id, previous, ours) : evict(kind, id, version),
            (r) => ({ rollback: r }),
          )
          return yield* stale
        }
        if (seen._tag === "Same") {
          // S3 already holds this document: nothing to write there.
          return outcome._tag === "Unchanged"
            ? ({ _tag: "Unchanged", key, s3Key, version } as WriteResult)
            : ({
                _tag: "Written",
                key,
                s3Key,
                version,
                etag: seen.etag,
                previous,
                repaired: false,
              } as WriteResult)
        }
        const written = yield* Effect.exit(restore(store.put(document)))
        if (Exit.isSuccess(written)) {
          return {
            _tag: "Written",
            key,
            s3Key,
            version,
            etag: written.value.etag,
            previous,
            // The cache had this version already but S3 did not (an earlier rollback failed, or S3 changed behind us).
            repaired: outcome._tag === "Unchanged",
          } as WriteResult
        }
        // Did the put land after all? Any failure may follow an attempt whose answer was lost.
        const after = yield* Effect.exit(store.head(s3Key))
        if (Exit.isFailure(after)) {
          return yield* storeFailed("write", key, s3Key, written.cause, (cause) =>
            Effect.map(evict(kind, id, version), (rollback) => ({ cause, rollback })),
          ).pipe(rolledBack(key, s3Key, version))
        }
        if (Option.isSome(after.value) && holds(after.value.value, document)) {
          if (Option.isNone(failureOf(written.cause))) return yield* Effect.failCause(written.cause)
          return {
            _tag: "Written",
            key,
            s3Key,
            version,
            etag: after.value.value.etag,
            previous,
            repaired: outcome._tag === "Unchanged",
          } as WriteResult
        }
        return yield* storeFailed("write", key, s3Key, written.cause, (cause) =>
          Effect.map(
            // An unchanged entry is not ours to restore: it disagrees with S3, so it goes.
            outcome._tag === "Written" ? restoreTo(kind, id, previous, ours) : evict(kind, id, version),
            (rollback) => ({ cause, rollback }),
          ),
        ).pipe(rolledBack(key, s3Key, version))
      }),
    )

  /**
   * Rolls back after S3 failed: the failure cause is re-raised when it is not a
   * StoreError (interruption, defect), after the rollback.
   */
  const storeFailed = <A>(
    operation: "write" | "delete",
    key: string,
    s3Key: string,
    failure: Cause.Cause<DocumentStore.StoreError>,
    rollback: (
      cause: DocumentStore.StoreError,
    ) => Effect.Effect<A & { readonly rollback: Rollback }, DocumentCache.CacheError>,
  ): Effect.Effect<A & { readonly rollback: Rollback }, RollbackFailedError | DocumentStore.StoreError> =>
    Effect.gen(function* () {
      const error = Option.getOrUndefined(failureOf(failure))
      const cause =
        error ??
        new DocumentStore.StoreError({ reason: "Unknown", operation: "PutObject", key: s3Key, cause: "interrupted" })
      const done = yield* rollbackLogged(operation, key, s3Key, cause, rollback(cause), (r) => ({
        rollback: r.rollback,
      }))
      if (error === undefined) return yield* Effect.failCause(failure)
      return done
    })

  const write: Service["write"] = (document) => {
    const key = `${document.kind}/${document.id}`
    const s3Key = store.keyOf(document.kind, document.id)
    const run = settings.dryRun
      ? dryRunWrite(document, key, s3Key)
      : settings.cacheEnabled
        ? lock(key, writeCached(document, key, s3Key))
        : s3Only(document, key, s3Key)
    return run.pipe(
      Effect.tap((result) =>
        countWrite(
          result._tag === "Written"
            ? "written"
            : result._tag === "Unchanged"
              ? "unchanged"
              : result._tag === "RolledBack"
                ? "rolled-back"
                : "dry-run",
        ),
      ),
      Effect.tapError((error) => countWrite(error._tag === "StaleWriteError" ? "stale" : "failed")),
      OperationLog.logged(
        "writeThrough.write",
        {
          key,
          s3Key,
          version: document.version,
          ...(settings.cacheEnabled ? {} : { cache: "off" }),
          ...(settings.dryRun ? { dryRun: true } : {}),
        },
        { describe: describeWrite },
      ),
    )
  }

  const deleteCached = (kind: string, id: string, key: string, s3Key: string) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        // The entry is read first: a delete retried after a lost answer reports `Absent`, and the
        // rollback must still put back what was there. An ambiguous failure of the delete itself
        // leaves the cache as it was or without the entry: both are safe.
        const current = yield* restore(cache.get(kind, id, { includeExpired: true }))
        const removed = yield* restore(cache.delete(kind, id))
        const previous = removed._tag === "Deleted" ? Option.some(removed.previous) : current
        const done = yield* Effect.exit(restore(store.delete(kind, id)))
        if (Exit.isSuccess(done)) return { _tag: "Deleted", key, s3Key, previous } as DeleteResult
        const error = Option.getOrUndefined(failureOf(done.cause))
        {
          // Did the delete land after all? Any failure may follow an attempt whose answer was lost.
          const info = yield* Effect.exit(store.head(s3Key))
          if (Exit.isFailure(info)) {
            // S3's state is unknown and the cache has no entry: nothing to put back.
            return yield* storeFailed("delete", key, s3Key, done.cause, (cause) =>
              Effect.succeed({ cause, rollback: "Evicted" as Rollback }),
            ).pipe(
              Effect.map(({ cause, rollback }): DeleteResult => ({ _tag: "RolledBack", key, s3Key, cause, rollback })),
            )
          }
          if (Option.isNone(info.value) && error !== undefined)
            return { _tag: "Deleted", key, s3Key, previous } as DeleteResult
        }
        return yield* storeFailed("delete", key, s3Key, done.cause, (cause) =>
          Option.isNone(previous)
            ? Effect.succeed({ cause, rollback: "Restored" as Rollback })
            : Effect.map(restoreTo(kind, id, previous, { _tag: "Absent" }), (rollback) => ({ cause, rollback })),
        ).pipe(Effect.map(({ cause, rollback }): DeleteResult => ({ _tag: "RolledBack", key, s3Key, cause, rollback })))
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
            ...(settings.cacheEnabled ? [`delete cache ${key}`] : []),
            `delete s3 ${s3Key}`,
            ...(settings.cacheEnabled ? [`on S3 failure: restore cache ${key} to its prior state`] : []),
          ],
        })
      : settings.cacheEnabled
        ? lock(key, deleteCached(kind, id, key, s3Key))
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
        {
          describe: (r) =>
            r._tag === "RolledBack"
              ? { outcome: "RolledBack", rollback: r.rollback, cause: r.cause.message }
              : r._tag === "DryRun"
                ? { outcome: "DryRun", actions: r.actions }
                : { outcome: r._tag },
        },
      ),
    )
  }

  return { write, delete: remove }
})

/** The typed failure of a cause; `None` for interruptions and defects, which are re-raised as they are. */
const failureOf = <E>(cause: Cause.Cause<E>): Option.Option<E> =>
  Cause.isInterrupted(cause) || Cause.isDie(cause) ? Option.none() : Cause.failureOption(cause)

const describeWrite = (result: WriteResult): OperationLog.Fields => {
  switch (result._tag) {
    case "Written":
      return { outcome: "Written", etag: result.etag, ...(result.repaired ? { repaired: true } : {}) }
    case "Unchanged":
      return { outcome: "Unchanged" }
    case "RolledBack":
      return { outcome: "RolledBack", rollback: result.rollback, cause: result.cause.message }
    case "DryRun":
      return { outcome: "DryRun", actions: result.actions }
  }
}

/** Provides {@link WriteThrough} over the ports and settings in context. */
export const layer: Layer.Layer<
  WriteThrough,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig
> = Layer.effect(WriteThrough, make)

/** Writes through the service in context. */
export const write = (document: Document.AnyDocument): Effect.Effect<WriteResult, WriteError, WriteThrough> =>
  Effect.flatMap(WriteThrough, (service) => service.write(document))

/** Deletes through the service in context. */
export const remove = (kind: string, id: string): Effect.Effect<DeleteResult, DeleteError, WriteThrough> =>
  Effect.flatMap(WriteThrough, (service) => service.delete(kind, id))

/**
 * The non-protocol writes and transaction builder of the DynamoDB backend, each a
 * named module-level function over the {@link Backend}, over the reads of
 * `Reads.ts` (`getItem`, `partition`, `customerSksOf`, `snapshot`); `put` decides
 * each attempt in `putAttempt` (and re-indexes an unchanged entry in
 * `reindexUnchanged`); delete, tombstone and restore are `replaceAll` with the items
 * they leave. `make` binds them to one backend, once.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CacheEntry from "../../CacheEntry.js"
import type * as Document from "../../Document.js"
import {
  CacheError,
  type Condition,
  type ConditionFailedError,
  type DeleteOutcome,
  type PutOptions,
  type PutOutcome,
  type Service,
} from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as Write from "../../internal/write.js"
import { normalizeSequencer } from "../../Sequencer.js"
import { type Backend, cacheError, log, newStats, type Stats } from "./Call.js"
import * as Codec from "./Codec.js"
import { customerSksOf, getItem, partition, type Seen, seenOf, slotOf, snapshot } from "./Reads.js"
import * as Transact from "./Transact.js"
import { Conflict, type Current, type Next } from "./Transact.js"

/** One put: what every attempt of it reads. */
interface PutRequest {
  readonly backend: Backend
  readonly document: Document.AnyDocument
  readonly options: PutOptions
  readonly key: string
  readonly stats: Stats
  readonly next: ReturnType<typeof Codec.documentItems>
  readonly hash: string
  /** The caller's snapshot of the item (`PutOptions.seen`), when it is of this document. */
  readonly seen: Seen | undefined
}

/**
 * Whether the first attempt assumes no item and skips the read: a create (version 1,
 * or an `Absent` condition such as a refill). Its `attribute_not_exists` guard checks
 * that atomically; when an item exists the transaction is cancelled (nothing written)
 * and DynamoDB returns the item (ALL_OLD), so the write is decided on it exactly as
 * after a read.
 */
const skipsRead = (request: PutRequest): boolean => {
  const { document, options } = request
  return (
    !request.backend.dryRun &&
    (options.condition?._tag === "Absent" ||
      (options.condition === undefined && (document.version === 1 || options.likelyAbsent === true))) &&
    Write.decidePut(document, request.hash, options, Option.none())._tag === "Write"
  )
}

/** Replaces the document's items, a guard conflict passed on for `optimistic` to decide again. */
const replaceItems = (request: PutRequest, item: Option.Option<Items.Item>, next: Next) =>
  Effect.flatMap(
    customerSksOf(request.backend, request.stats, "put", request.document.kind, request.document.id, item),
    (customerSks) =>
      Transact.replace(request.backend)(
        request.stats,
        request.document.kind,
        request.document.id,
        { document: item, customerSks },
        next,
      ).pipe(Effect.mapError((e) => (e instanceof Conflict ? e : cacheError("put", request.key)(e)))),
  )

/**
 * The same content under an older status index layout (before sharding, or another
 * shard count): re-index the committed entry as it is (etag, sequencer and expiry
 * kept), guarded like any write. This is how backfill migrates a table.
 */
const reindexUnchanged = (request: PutRequest, item: Items.Item, current: CacheEntry.Entry) => {
  const reindexed = Codec.entryItems(request.backend, current)
  const hashed = item[Codec.contentHash]
  return Effect.as(
    replaceItems(request, Option.some(item), {
      document: hashed === undefined ? reindexed.document : { ...reindexed.document, [Codec.contentHash]: hashed },
      customers: reindexed.customers,
    }),
    { _tag: "Written", previous: Option.some(current) } as PutOutcome,
  )
}

/** One attempt of a put: decide on the item seen (or read now), then write it. */
const putAttempt = (request: PutRequest, seen: Option.Option<Option.Option<Items.Item>>) =>
  Effect.gen(function* () {
    const { backend, document, key } = request
    const item = Option.isSome(seen)
      ? seen.value
      : yield* getItem(backend, request.stats, "put", document.kind, document.id)
    const slot = yield* slotOf(backend, "put", key, item, request.seen)
    const decision = Write.decidePut(document, request.hash, request.options, slot.committed)
    if (decision._tag === "Fail") return yield* decision.error
    if (decision._tag === "Unchanged") {
      const unchanged: PutOutcome = { _tag: "Unchanged", current: decision.current }
      const stale =
        Option.isSome(item) &&
        item.value.statusPk?.S !== undefined &&
        item.value.statusPk.S !== request.next.document.statusPk?.S
      if (!stale || backend.dryRun || Write.checkNoIntent(key, "put", slot.intent) !== undefined) return unchanged
      return yield* reindexUnchanged(request, item.value, decision.current)
    }
    const held = Write.checkNoIntent(key, "put", slot.intent)
    if (held !== undefined) return yield* held
    const written: PutOutcome = { _tag: "Written", previous: Option.map(slot.committed, (s) => s.entry) }
    if (backend.dryRun) return written
    yield* replaceItems(request, item, request.next)
    return written
  })

/** Puts a document's items (decided on what the cache holds), retried on a guard conflict. */
export const put = (backend: Backend, document: Document.AnyDocument, putOptions: PutOptions) => {
  const { table, dryRun } = backend
  const key = Write.keyOf(document.kind, document.id)
  const stats = newStats()
  return log(
    "cache.put",
    { table, key, version: document.version, ...(dryRun ? { dryRun } : {}), stats },
    Effect.suspend(() => {
      if (backend.registry.get(document.kind) === undefined) {
        return Effect.fail(new CacheError({ reason: "Invalid", operation: "put", key, cause: "unregistered kind" }))
      }
      const sequencer = putOptions.sequencer !== undefined ? normalizeSequencer(putOptions.sequencer) : undefined
      // One canonical encoding and hash of the document, for the decision and the item alike.
      const hash = Write.contentHash(document)
      const request: PutRequest = {
        backend,
        document,
        options: putOptions,
        key,
        stats,
        next: Codec.documentItems(
          backend,
          document,
          {
            s3Key: putOptions.s3Key,
            ...(putOptions.etag !== undefined ? { etag: putOptions.etag } : {}),
            ...(sequencer !== undefined ? { sequencer } : {}),
          },
          undefined,
          hash,
        ),
        hash,
        seen: seenOf(putOptions.seen, document.kind, document.id),
      }
      return Transact.optimistic(
        "put",
        key,
        (seen) => putAttempt(request, seen),
        request.seen !== undefined
          ? Option.some(request.seen.item)
          : skipsRead(request)
            ? Option.some(Option.none())
            : Option.none(),
      )
    }),
    (outcome) => ({ outcome: outcome._tag }),
    // A step of an operation with its own line (a read's refill): its success line is debug.
    putOptions.step === true ? "debug" : "info",
  )
}

/**
 * What a delete, tombstone or restore replaces: the whole partition, read; or, from a
 * snapshot (or the item a conflict returned), the document item and the customer items
 * its committed entry lists, as a put replaces them.
 */
const currentOf = (
  backend: Backend,
  stats: Stats,
  operation: string,
  kind: string,
  id: string,
  seen: Option.Option<Option.Option<Items.Item>>,
): Effect.Effect<Current, CacheError> =>
  Option.match(seen, {
    onNone: () => partition(backend, stats, operation, kind, id),
    onSome: (item) =>
      Effect.map(
        customerSksOf(backend, stats, operation, kind, id, item),
        (customerSks): Current => ({ document: item, customerSks }),
      ),
  })

/**
 * Delete, tombstone and restore: read the whole partition (or start from `seen`, a
 * snapshot of the document item), check the condition, replace.
 */
const replaceAll = (
  backend: Backend,
  operation: string,
  kind: string,
  id: string,
  condition: Condition | undefined,
  next: (now: number) => Next,
  seen?: Seen,
): Effect.Effect<DeleteOutcome, CacheError | ConditionFailedError> => {
  const { table, dryRun } = backend
  const key = Write.keyOf(kind, id)
  const stats = newStats()
  return log(
    `cache.${operation}`,
    {
      table,
      key,
      ...(condition !== undefined ? { condition: Write.describe(condition) } : {}),
      ...(dryRun ? { dryRun } : {}),
      stats,
    },
    Transact.optimistic(
      operation,
      key,
      (read) =>
        Effect.gen(function* () {
          // Without a snapshot every attempt reads the partition (a conflict's item is not trusted).
          const current = yield* currentOf(
            backend,
            stats,
            operation,
            kind,
            id,
            seen === undefined ? Option.none() : read,
          )
          const slot = yield* slotOf(backend, operation, key, current.document, seen)
          const previous = Option.map(slot.committed, (s) => s.entry)
          const failed =
            Write.checkCondition(key, operation, previous, condition) ??
            Write.checkNoIntent(key, operation, slot.intent)
          if (failed !== undefined) return yield* failed
          const outcome: DeleteOutcome = Option.match(previous, {
            onNone: () => ({ _tag: "Absent" }),
            onSome: (entry) => ({ _tag: "Deleted", previous: entry }),
          })
          const target = next(yield* Clock.currentTimeMillis)
          if (
            dryRun ||
            (Option.isNone(current.document) && current.customerSks.length === 0 && target.document === undefined)
          ) {
            return outcome
          }
          yield* Transact.replace(backend)(stats, kind, id, current, target).pipe(
            Effect.mapError((e) => (e instanceof Conflict ? e : cacheError(operation, key)(e))),
          )
          return outcome
        }),
      seen === undefined ? Option.none() : Option.some(seen.item),
    ),
    (outcome) => ({ outcome: outcome._tag }),
  )
}

/** The committed entry of `kind`/`id`, unless expired (or with `includeExpired`). */
export const get = (
  backend: Backend,
  kind: string,
  id: string,
  getOptions: Parameters<Service["get"]>[2],
): ReturnType<Service["get"]> => {
  const key = Write.keyOf(kind, id)
  const stats = newStats()
  return log(
    "cache.get",
    { table: backend.table, key, stats },
    // Plain steps, no generator: the read, its decode, one clock read for the expiry.
    Effect.flatMap(getItem(backend, stats, "get", kind, id), (item) =>
      Effect.flatMap(Codec.decodeSlot(backend.registry, "get", key, item), (slot) =>
        Effect.clockWith((clock) => {
          const now = clock.unsafeCurrentTimeMillis()
          return Effect.succeed(
            Option.filter(
              Option.map(slot.committed, (s) => s.entry),
              (entry) => getOptions?.includeExpired === true || !CacheEntry.isExpired(entry.expiresAt, now),
            ),
          )
        }),
      ),
    ),
    (entry) => ({ outcome: Option.isSome(entry) ? entry.value._tag : "Absent" }),
    // Reads are the hot path: their success lines are debug (DOCKET_LOG_LEVEL=debug); failures always warn.
    "debug",
  )
}

const deleted = (): Next => ({ document: undefined, customers: [] })

/** The tombstone a `tombstone` leaves, expiring `ttlSeconds` after `now`. */
const tombstoneOf =
  (kind: string, id: string, options: Parameters<Service["tombstone"]>[2]) =>
  (now: number): Next => ({
    document: Items.tombstoneItem(kind, id, Math.floor(now / 1000) + Math.max(1, Math.round(options.ttlSeconds)), {
      ...(options.etag !== undefined ? { etag: options.etag } : {}),
      ...(options.sequencer !== undefined ? { sequencer: normalizeSequencer(options.sequencer) } : {}),
    }),
    customers: [],
  })

/** The items a `restore` puts back: the previous entry's, or none. */
const restoredOf = (backend: Backend, previous: Option.Option<CacheEntry.Entry>) => (): Next =>
  Option.match(previous, { onNone: deleted, onSome: (entry) => Codec.entryItems(backend, entry) })

/** The functions of this module bound to one backend (built once, by the backend's `make`). */
export const make = (backend: Backend) => {
  const service: Pick<Service, "get" | "snapshot" | "put" | "delete" | "tombstone" | "restore"> = {
    get: (kind, id, getOptions) => get(backend, kind, id, getOptions),
    snapshot: (kind, id) => snapshot(backend, kind, id),
    put: (document, putOptions) => put(backend, document, putOptions),
    delete: (kind, id, deleteOptions) => replaceAll(backend, "delete", kind, id, deleteOptions?.condition, deleted),
    tombstone: (kind, id, tombstoneOptions) =>
      replaceAll(
        backend,
        "tombstone",
        kind,
        id,
        tombstoneOptions.condition,
        tombstoneOf(kind, id, tombstoneOptions),
        seenOf(tombstoneOptions.seen, kind, id),
      ),
    restore: (kind, id, previous, condition) =>
      Effect.asVoid(replaceAll(backend, "restore", kind, id, condition, restoredOf(backend, previous))),
  }
  return {
    service,
    getItem: (stats: Stats, operation: string, kind: string, id: string) =>
      getItem(backend, stats, operation, kind, id),
    partition: (stats: Stats, operation: string, kind: string, id: string) =>
      partition(backend, stats, operation, kind, id),
    customerSksOf: (stats: Stats, operation: string, kind: string, id: string, item: Option.Option<Items.Item>) =>
      customerSksOf(backend, stats, operation, kind, id, item),
    replace: Transact.replace(backend),
  }
}

import { GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "../../CacheEntry.js"
import {
  CacheError,
  type Condition,
  type ConditionFailedError,
  type DeleteOutcome,
  type PutOutcome,
  type Service,
} from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as Write from "../../internal/write.js"
import { normalizeSequencer } from "../../Sequencer.js"
import * as Table from "../../Table.js"
import { type Backend, cacheError, docKey, log, newStats, S, type Stats } from "./Call.js"
import * as Codec from "./Codec.js"
import * as Transact from "./Transact.js"
import { Conflict, type Current, type Next } from "./Transact.js"

/** The reads, non-protocol writes and transaction builder of the backend. */
export const make = (backend: Backend) => {
  const { client, table, registry, call, dryRun } = backend

  const getItem = (stats: Stats, operation: string, kind: string, id: string) =>
    call(stats, (abortSignal) =>
      client.send(
        new GetItemCommand({
          TableName: table,
          Key: docKey(kind, id),
          ConsistentRead: true,
          ReturnConsumedCapacity: "TOTAL",
        }),
        { abortSignal },
      ),
    ).pipe(
      Effect.map((out) => Option.fromNullable(out.Item)),
      Effect.mapError(cacheError(operation, Write.keyOf(kind, id))),
    )

  /** Every item of a document's partition (document item and customer items). */
  const partition = (stats: Stats, operation: string, kind: string, id: string) =>
    Stream.paginateChunkEffect(undefined as Items.Item | undefined, (start) =>
      call(stats, (abortSignal) =>
        client.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": Table.definition.partitionKey },
            ExpressionAttributeValues: { ":pk": S(Items.documentPk(kind, id)) },
            ConsistentRead: true,
            ReturnConsumedCapacity: "TOTAL",
            ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
          }),
          { abortSignal },
        ),
      ).pipe(
        Effect.map(
          (out) => [Chunk.unsafeFromArray(out.Items ?? []), Option.fromNullable(out.LastEvaluatedKey)] as const,
        ),
      ),
    ).pipe(
      Stream.runCollect,
      Effect.map((chunk): Current => {
        const items = Chunk.toArray(chunk)
        return {
          document: Option.fromNullable(items.find((item) => item.sk?.S === Items.documentSk)),
          customerSks: items.flatMap((item) => (item.sk?.S?.startsWith("CUST#") ? [item.sk.S] : [])),
        }
      }),
      Effect.mapError(cacheError(operation, Write.keyOf(kind, id))),
    )

  /**
   * The customer sort keys a document's items have: from its committed entry,
   * or from the partition when a chain was interrupted (`pending`).
   */
  const customerSksOf = (
    stats: Stats,
    operation: string,
    kind: string,
    id: string,
    item: Option.Option<Items.Item>,
  ): Effect.Effect<ReadonlyArray<string>, CacheError> =>
    Option.isSome(item) && item.value.pending?.BOOL === true
      ? Effect.map(partition(stats, operation, kind, id), (p) => p.customerSks)
      : Effect.succeed(
          Option.match(item, {
            onNone: () => [] as Array<string>,
            onSome: (i) => (i.customers?.L ?? []).flatMap((c) => (c.S !== undefined ? [Items.customerSk(c.S)] : [])),
          }),
        )

  const put: Service["put"] = (document, putOptions) => {
    const key = Write.keyOf(document.kind, document.id)
    const stats = newStats()
    return log(
      "cache.put",
      { table, key, version: document.version, ...(dryRun ? { dryRun } : {}), stats },
      Effect.gen(function* () {
        if (registry.get(document.kind) === undefined) {
          return yield* new CacheError({ reason: "Invalid", operation: "put", key, cause: "unregistered kind" })
        }
        const sequencer = putOptions.sequencer !== undefined ? normalizeSequencer(putOptions.sequencer) : undefined
        const next = Codec.documentItems(backend, document, {
          s3Key: putOptions.s3Key,
          ...(putOptions.etag !== undefined ? { etag: putOptions.etag } : {}),
          ...(sequencer !== undefined ? { sequencer } : {}),
        })
        const hash = Write.contentHash(document)
        // A create (version 1, or an `Absent` condition such as a refill) skips the read: the first
        // attempt assumes no item, which its `attribute_not_exists` guard checks atomically. When an
        // item exists the transaction is cancelled (nothing written) and DynamoDB returns the item
        // (ALL_OLD), so the write is decided on it exactly as after a read.
        const create =
          !dryRun &&
          (putOptions.condition?._tag === "Absent" ||
            (putOptions.condition === undefined && (document.version === 1 || putOptions.likelyAbsent === true))) &&
          Write.decidePut(document, hash, putOptions, Option.none())._tag === "Write"
        return yield* Transact.optimistic(
          "put",
          key,
          (seen) =>
            Effect.gen(function* () {
              const item = Option.isSome(seen) ? seen.value : yield* getItem(stats, "put", document.kind, document.id)
              const slot = yield* Codec.decodeSlot(registry, "put", key, item)
              const decision = Write.decidePut(document, hash, putOptions, slot.committed)
              if (decision._tag === "Fail") return yield* decision.error
              if (decision._tag === "Unchanged") {
                const unchanged: PutOutcome = { _tag: "Unchanged", current: decision.current }
                // The same content under an older status index layout (before sharding, or another
                // shard count): re-index the committed entry as it is (etag, sequencer and expiry
                // kept), guarded like any write. This is how backfill migrates a table.
                const stale =
                  Option.isSome(item) &&
                  item.value.statusPk?.S !== undefined &&
                  item.value.statusPk.S !== next.document.statusPk?.S
                if (!stale || dryRun || Write.checkNoIntent(key, "put", slot.intent) !== undefined) return unchanged
                const reindexed = Codec.entryItems(backend, decision.current)
                const hashed = item.value[Codec.contentHash]
                const customerSks = yield* customerSksOf(stats, "put", document.kind, document.id, item)
                yield* Transact.replace(backend)(
                  stats,
                  document.kind,
                  document.id,
                  { document: item, customerSks },
                  {
                    document:
                      hashed === undefined
                        ? reindexed.document
                        : { ...reindexed.document, [Codec.contentHash]: hashed },
                    customers: reindexed.customers,
                  },
                ).pipe(Effect.mapError((e) => (e instanceof Conflict ? e : cacheError("put", key)(e))))
                return { _tag: "Written", previous: Option.some(decision.current) } as PutOutcome
              }
              const held = Write.checkNoIntent(key, "put", slot.intent)
              if (held !== undefined) return yield* held
              const written: PutOutcome = { _tag: "Written", previous: Option.map(slot.committed, (s) => s.entry) }
              if (dryRun) return written
              const customerSks = yield* customerSksOf(stats, "put", document.kind, document.id, item)
              yield* Transact.replace(backend)(
                stats,
                document.kind,
                document.id,
                { document: item, customerSks },
                next,
              ).pipe(Effect.mapError((e) => (e instanceof Conflict ? e : cacheError("put", key)(e))))
              return written
            }),
          create ? Option.some(Option.none()) : Option.none(),
        )
      }),
      (outcome) => ({ outcome: outcome._tag }),
    )
  }

  /** Delete, tombstone and restore: read the whole partition, check the condition, replace. */
  const replaceAll = (
    operation: string,
    kind: string,
    id: string,
    condition: Condition | undefined,
    next: (now: number) => Next,
  ): Effect.Effect<DeleteOutcome, CacheError | ConditionFailedError> => {
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
      Transact.optimistic(operation, key, () =>
        Effect.gen(function* () {
          const current = yield* partition(stats, operation, kind, id)
          const slot = yield* Codec.decodeSlot(registry, operation, key, current.document)
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
      ),
      (outcome) => ({ outcome: outcome._tag }),
    )
  }

  const get: Service["get"] = (kind, id, getOptions) => {
    const key = Write.keyOf(kind, id)
    const stats = newStats()
    return log(
      "cache.get",
      { table, key, stats },
      Effect.gen(function* () {
        const item = yield* getItem(stats, "get", kind, id)
        const slot = yield* Codec.decodeSlot(registry, "get", key, item)
        const now = yield* Clock.currentTimeMillis
        return Option.filter(
          Option.map(slot.committed, (s) => s.entry),
          (entry) => getOptions?.includeExpired === true || !CacheEntry.isExpired(entry.expiresAt, now),
        )
      }),
      (entry) => ({ outcome: Option.isSome(entry) ? entry.value._tag : "Absent" }),
      // Reads are the hot path: their success lines are debug (DOCKET_LOG_LEVEL=debug); failures always warn.
      "debug",
    )
  }

  const service: Pick<Service, "get" | "put" | "delete" | "tombstone" | "restore"> = {
    get,
    put,
    delete: (kind, id, deleteOptions) =>
      replaceAll("delete", kind, id, deleteOptions?.condition, () => ({ document: undefined, customers: [] })),
    tombstone: (kind, id, tombstoneOptions) =>
      replaceAll("tombstone", kind, id, tombstoneOptions.condition, (now) => ({
        document: Items.tombstoneItem(
          kind,
          id,
          Math.floor(now / 1000) + Math.max(1, Math.round(tombstoneOptions.ttlSeconds)),
          {
            ...(tombstoneOptions.etag !== undefined ? { etag: tombstoneOptions.etag } : {}),
            ...(tombstoneOptions.sequencer !== undefined
              ? { sequencer: normalizeSequencer(tombstoneOptions.sequencer) }
              : {}),
          },
        ),
        customers: [],
      })),
    restore: (kind, id, previous, condition) =>
      Effect.asVoid(
        replaceAll("restore", kind, id, condition, () =>
          Option.match(previous, {
            onNone: () => ({ document: undefined, customers: [] }),
            onSome: (entry) => Codec.entryItems(backend, entry),
          }),
        ),
      ),
  }
  return { service, getItem, partition, customerSksOf, replace: Transact.replace(backend) }
}

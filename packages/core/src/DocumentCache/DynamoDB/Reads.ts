/**
 * The DynamoDB backend's single-document reads: `getItem` (the document item,
 * consistent), `partition` (every item of a document, for a chain that was
 * interrupted), `customerSksOf`, and `snapshot`, a read kept for the write that
 * follows (its {@link Seen}: the item as read, the write's guard, and its decoded
 * slot). The writes in `Writes.ts` use them; `make` there binds them to a backend.
 *
 * @since 0.2.0
 */
import { GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CacheError, Snapshot } from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as Write from "../../internal/write.js"
import * as Table from "../../Table.js"
import { type AwsFailure, type Backend, cacheError, docKey, log, newStats, S, type Stats } from "./Call.js"
import * as Codec from "./Codec.js"
import type { Current } from "./Transact.js"

/** The document item of `kind`/`id`, read consistently. */
export const getItem = (
  backend: Backend,
  stats: Stats,
  operation: string,
  kind: string,
  id: string,
): Effect.Effect<Option.Option<Items.Item>, CacheError> =>
  // Result and error mapped in the attempt's own steps (every read and most writes start here).
  backend.callWith(
    stats,
    (abortSignal) =>
      backend.client.send(
        new GetItemCommand({
          TableName: backend.table,
          Key: docKey(kind, id),
          ConsistentRead: true,
          ...backend.capacity,
        }),
        { abortSignal },
      ),
    (out) => Option.fromNullable(out.Item),
    (failure) => Effect.fail(cacheError(operation, Write.keyOf(kind, id))(failure)),
  )

/** Every item of a document's partition (document item and customer items), page after page. */
export const partition = (
  backend: Backend,
  stats: Stats,
  operation: string,
  kind: string,
  id: string,
): Effect.Effect<Current, CacheError> => {
  const pageFrom = (start: Items.Item | undefined, items: Array<Items.Item>): Effect.Effect<Current, AwsFailure> =>
    Effect.flatMap(
      backend.call(stats, (abortSignal) =>
        backend.client.send(
          new QueryCommand({
            TableName: backend.table,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": Table.definition.partitionKey },
            ExpressionAttributeValues: { ":pk": S(Items.documentPk(kind, id)) },
            ConsistentRead: true,
            ...backend.capacity,
            ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
          }),
          { abortSignal },
        ),
      ),
      (out) => {
        items.push(...(out.Items ?? []))
        if (out.LastEvaluatedKey !== undefined) return pageFrom(out.LastEvaluatedKey, items)
        return Effect.succeed<Current>({
          document: Option.fromNullable(items.find((item) => item.sk?.S === Items.documentSk)),
          customerSks: items.flatMap((item) => (item.sk?.S?.startsWith("CUST#") ? [item.sk.S] : [])),
        })
      },
    )
  return Effect.suspend(() => pageFrom(undefined, [])).pipe(
    Effect.mapError(cacheError(operation, Write.keyOf(kind, id))),
  )
}

/**
 * The customer sort keys a document's items have: from its committed entry,
 * or from the partition when a chain was interrupted (`pending`).
 */
export const customerSksOf = (
  backend: Backend,
  stats: Stats,
  operation: string,
  kind: string,
  id: string,
  item: Option.Option<Items.Item>,
): Effect.Effect<ReadonlyArray<string>, CacheError> =>
  Option.isSome(item) && item.value.pending?.BOOL === true
    ? Effect.map(partition(backend, stats, operation, kind, id), (p) => p.customerSks)
    : Effect.succeed(
        Option.match(item, {
          onNone: () => [] as Array<string>,
          onSome: (i) => (i.customers?.L ?? []).flatMap((c) => (c.S !== undefined ? [Items.customerSk(c.S)] : [])),
        }),
      )

/**
 * What a snapshot of this backend keeps: the document item as read (the guard of the
 * write that takes it: `rev` or its absence) and its decoded slot, so that write
 * neither reads nor decodes it again.
 */
export class Seen {
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly item: Option.Option<Items.Item>,
    readonly slot: Write.Slot,
  ) {}
}

/** A snapshot's item, if it is this backend's and of this document (anything else is ignored). */
export const seenOf = (snapshot: Snapshot | undefined, kind: string, id: string): Seen | undefined =>
  snapshot?.seen instanceof Seen && snapshot.seen.kind === kind && snapshot.seen.id === id ? snapshot.seen : undefined

/** The slot of `item`: the snapshot's, when the attempt decides on the item the snapshot read. */
export const slotOf = (
  backend: Backend,
  operation: string,
  key: string,
  item: Option.Option<Items.Item>,
  seen: Seen | undefined,
): Effect.Effect<Write.Slot, CacheError> =>
  seen !== undefined && item === seen.item
    ? Effect.succeed(seen.slot)
    : Codec.decodeSlot(backend.registry, operation, key, item)

/**
 * A consistent read of the document item, kept for the write that follows
 * (`seen` of put and tombstone); the committed entry includes expired ones.
 */
export const snapshot = (backend: Backend, kind: string, id: string): Effect.Effect<Snapshot, CacheError> => {
  const key = Write.keyOf(kind, id)
  const stats = newStats()
  return log(
    "cache.snapshot",
    { table: backend.table, key, stats },
    Effect.flatMap(getItem(backend, stats, "snapshot", kind, id), (item) =>
      Effect.map(
        Codec.decodeSlot(backend.registry, "snapshot", key, item),
        (slot): Snapshot => ({
          kind,
          id,
          entry: Option.map(slot.committed, (s) => s.entry),
          intent: slot.intent,
          seen: new Seen(kind, id, item, slot),
        }),
      ),
    ),
    (taken) => ({ outcome: Option.isSome(taken.intent) ? "intent" : Option.isSome(taken.entry) ? "entry" : "Absent" }),
    // A read: its success line is debug, like cache.get's.
    "debug",
  )
}

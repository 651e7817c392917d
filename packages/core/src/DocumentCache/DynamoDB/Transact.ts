/**
 * The transactions of the DynamoDB backend: every write of a document's items
 * is one TransactWriteItems (a chain past 99 customer actions) whose first
 * action carries a guard, and a conflict on that guard returns the item that
 * is there now, so the write can be decided again.
 *
 * @since 0.2.0
 */
import { randomUUID } from "node:crypto"
import {
  type TransactWriteItem,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandOutput,
} from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CacheError } from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as Table from "../../Table.js"
import { type AwsFailure, type Backend, cancellationItem, docKey, isConditionCancel, S, type Stats } from "./Call.js"
import * as Codec from "./Codec.js"

/** Transaction limit of DynamoDB: 100 actions, one of them the document item. */
const customerActionsPerTransaction = 99

/** The condition of the transaction's first action did not hold: the document changed under us. */
export class Conflict {
  readonly _tag = "Conflict"
  constructor(readonly item: Option.Option<Items.Item>) {}
}

/** A condition of a write action. */
export interface Guard {
  readonly ConditionExpression: string
  readonly ExpressionAttributeNames?: Record<string, string>
  readonly ExpressionAttributeValues?: Items.Item
}

/** What a document's items are now (document item and customer sort keys). */
export interface Current {
  readonly document: Option.Option<Items.Item>
  readonly customerSks: ReadonlyArray<string>
}

/** What they must be afterwards; `document` undefined: no document item. */
export interface Next {
  readonly document: Items.Item | undefined
  readonly customers: ReadonlyArray<Items.Item>
}

/** The guard of a read-then-write: the document item is still exactly what we read. */
export const revGuard = (current: Option.Option<Items.Item>): Guard =>
  Option.match(current, {
    onNone: () => ({
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": Table.definition.partitionKey },
    }),
    onSome: (item) =>
      item[Codec.rev]?.S !== undefined
        ? {
            ConditionExpression: "#rev = :seen",
            ExpressionAttributeNames: { "#rev": Codec.rev },
            ExpressionAttributeValues: { ":seen": S(item[Codec.rev].S) },
          }
        : {
            ConditionExpression: "attribute_exists(#pk) AND attribute_not_exists(#rev)",
            ExpressionAttributeNames: { "#pk": Table.definition.partitionKey, "#rev": Codec.rev },
          },
  })

type DocumentKey = ReturnType<typeof docKey>

/** The customer items' actions: put every one of `next`, delete every one of `current` that `next` drops. */
const customerActionsOf = (
  table: string,
  kind: string,
  id: string,
  current: Current,
  next: Next,
): Array<TransactWriteItem> => {
  const pk = S(Items.documentPk(kind, id))
  const keep = new Set(next.customers.map((item) => item.sk?.S))
  return [
    ...next.customers.map((Item): TransactWriteItem => ({ Put: { TableName: table, Item } })),
    ...current.customerSks
      .filter((sk) => !keep.has(sk))
      .map((sk): TransactWriteItem => ({ Delete: { TableName: table, Key: { pk, sk: S(sk) } } })),
  ]
}

/** The action that leaves the document item as `next` has it (put at `revision`, or deleted), under `conditions`. */
const finalAction = (
  table: string,
  documentKey: DocumentKey,
  next: Next,
  conditions: Guard,
  revision: string,
): TransactWriteItem =>
  next.document === undefined
    ? {
        Delete: {
          TableName: table,
          Key: documentKey,
          ...conditions,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      }
    : {
        Put: {
          TableName: table,
          Item: { ...next.document, [Codec.rev]: S(revision) },
          ...conditions,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      }

/** The guard of a chain's later transaction: the item is at the revision the one before set. */
const byRev = (revision: string): Guard => ({
  ConditionExpression: "#rev = :seen",
  ExpressionAttributeNames: { "#rev": Codec.rev },
  ExpressionAttributeValues: { ":seen": S(revision) },
})

/** A replace split into a chain of transactions: what every {@link chainHead} reads. */
interface Chain {
  readonly table: string
  readonly documentKey: DocumentKey
  readonly kind: string
  readonly id: string
  readonly current: Current
  readonly next: Next
  readonly first: Guard
  readonly holdItem: boolean
  /** The revision each transaction of the chain sets, in order. */
  readonly revs: ReadonlyArray<string>
}

/**
 * The document item's action heading transaction `i` of a chain: the first
 * marks the item `pending` at its revision (in place when `holdItem`), the
 * last writes its final state, the ones between move the revision on.
 */
const chainHead = (chain: Chain, i: number): TransactWriteItem => {
  const { table, documentKey, kind, id, current, next, first, holdItem, revs } = chain
  const revision = revs[i] as string
  if (i === 0 && holdItem) {
    return {
      Update: {
        TableName: table,
        Key: documentKey,
        UpdateExpression: "SET #rev = :rev, #pending = :true",
        ConditionExpression: first.ConditionExpression,
        ExpressionAttributeNames: { ...first.ExpressionAttributeNames, "#rev": Codec.rev, "#pending": "pending" },
        ExpressionAttributeValues: {
          ...first.ExpressionAttributeValues,
          ":rev": S(revision),
          ":true": { BOOL: true },
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    }
  }
  if (i === 0) {
    const base = next.document ?? Option.getOrUndefined(current.document) ?? Items.tombstoneItem(kind, id, 0)
    return {
      Put: {
        TableName: table,
        Item: { ...base, pending: { BOOL: true }, [Codec.rev]: S(revision) },
        ...first,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    }
  }
  if (i === revs.length - 1) return finalAction(table, documentKey, next, byRev(revs[i - 1] as string), revision)
  return {
    Update: {
      TableName: table,
      Key: documentKey,
      UpdateExpression: "SET #rev = :rev",
      ConditionExpression: "#rev = :seen",
      ExpressionAttributeNames: { "#rev": Codec.rev },
      ExpressionAttributeValues: { ":seen": S(revs[i - 1] as string), ":rev": S(revision) },
    },
  }
}

/** The transactions of a replace: one when the customer actions fit, else a chain of {@link chainHead}s. */
const transactionsOf = (
  table: string,
  kind: string,
  id: string,
  current: Current,
  next: Next,
  first: Guard,
  holdItem: boolean,
): Array<Array<TransactWriteItem>> => {
  const customerActions = customerActionsOf(table, kind, id, current, next)
  const revs = Array.from(
    { length: Math.max(1, Math.ceil(customerActions.length / customerActionsPerTransaction)) },
    () => randomUUID(),
  )
  const documentKey = docKey(kind, id)
  if (revs.length === 1) return [[finalAction(table, documentKey, next, first, revs[0] as string), ...customerActions]]
  const chain: Chain = { table, documentKey, kind, id, current, next, first, holdItem, revs }
  return revs.map((_, i) => [
    chainHead(chain, i),
    ...customerActions.slice(i * customerActionsPerTransaction, (i + 1) * customerActionsPerTransaction),
  ])
}

const ignore = (): void => undefined

/** Sends the transactions in order; a failed guard is a {@link Conflict} on the first, the end of the chain later. */
const sendTransactions = (
  backend: Backend,
  stats: Stats,
  transactions: Array<Array<TransactWriteItem>>,
): Effect.Effect<void, AwsFailure | Conflict> => {
  // The answer and a failed guard handled in the attempt's own steps (no `catchIf` and `asVoid` steps).
  const send = (TransactItems: Array<TransactWriteItem>, index: number): Effect.Effect<void, AwsFailure | Conflict> =>
    backend.callWith<TransactWriteItemsCommandOutput, void, AwsFailure | Conflict>(
      stats,
      (abortSignal) =>
        backend.client.send(new TransactWriteItemsCommand({ TransactItems, ...backend.capacity }), {
          abortSignal,
        }),
      ignore,
      (failure) =>
        !failure.retryable && failure.reason === "Invalid" && isConditionCancel(failure.error)
          ? // Later transactions of a chain fail only when a newer writer took over: that writer owns the items now.
            index === 0
            ? Effect.fail(new Conflict(Option.fromNullable(cancellationItem(failure.error))))
            : Effect.void
          : Effect.fail(failure),
    )
  // Most replaces are one transaction: no `forEach` (its batching and loop are steps of the fiber on every commit).
  return transactions.length === 1
    ? send(transactions[0] as Array<TransactWriteItem>, 0)
    : Effect.forEach(transactions, send, { discard: true })
}

/**
 * Replaces the items of a document: `current` is what is there, `next` what
 * must be there afterwards; `first` guards the first action (default: the
 * item is still exactly `current.document`). Fails with {@link Conflict} when
 * that guard does not hold. `holdItem`: a chain first marks the item `pending`
 * in place (keeping its intent and committed state) instead of replacing it.
 * The steps: {@link transactionsOf} builds the transactions, `sendTransactions`
 * sends them.
 */
export const replace =
  (backend: Backend) =>
  (
    stats: Stats,
    kind: string,
    id: string,
    current: Current,
    next: Next,
    first: Guard = revGuard(current.document),
    holdItem = false,
  ): Effect.Effect<void, AwsFailure | Conflict> =>
    sendTransactions(backend, stats, transactionsOf(backend.table, kind, id, current, next, first, holdItem))

/**
 * Re-decides a write on conflict, a bounded number of times. `initial`: the
 * state the first attempt assumes without reading (a guess its guard checks);
 * after a conflict the item DynamoDB returned is trusted once, then re-read.
 */
export const optimistic = <A, E>(
  operation: string,
  key: string,
  attempt: (seen: Option.Option<Option.Option<Items.Item>>) => Effect.Effect<A, E | Conflict>,
  initial: Option.Option<Option.Option<Items.Item>> = Option.none(),
): Effect.Effect<A, E | CacheError> => {
  const trustedRounds = Option.isSome(initial) ? 1 : 0
  const loop = (seen: Option.Option<Option.Option<Items.Item>>, round: number): Effect.Effect<A, E | CacheError> =>
    Effect.catchIf(
      attempt(seen),
      (e): e is Conflict => e instanceof Conflict,
      (conflict) =>
        round >= 10
          ? Effect.fail(
              new CacheError({
                reason: "Contention",
                operation,
                key,
                cause: "the document kept changing (10 rounds)",
              }),
            )
          : loop(round <= trustedRounds ? Option.some(conflict.item) : Option.none(), round + 1),
    ) as Effect.Effect<A, E | CacheError>
  return loop(initial, 0)
}

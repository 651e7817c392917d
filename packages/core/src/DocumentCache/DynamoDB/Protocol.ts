/**
 * The write protocol of the DynamoDB backend (DESIGN section 6). Per write,
 * three sequential round trips, one of them S3's:
 *
 * 1. intent: one `UpdateItem` on the document item (`pk = DOC#{kind}#{id}`,
 *    `sk = DOC`) that SETs `intentWriter`, `intentOp`, `intentVersion`,
 *    `intentEtag`, `intentS3Key`, `intentLease` (epoch ms), `intentPk`
 *    (`I#{0..7}`) / `intentSk` (`{lease, 15 digits}#{kind}#{id}`, the sparse
 *    IntentIndex) and a new `rev`, with
 *    `ConditionExpression: (attribute_not_exists(intentWriter) OR intentWriter = :me)
 *    AND (attribute_not_exists(kind) OR attribute_exists(tombstone) OR version < :v)`
 *    (a delete: the first half only), `ReturnValues: ALL_OLD` and
 *    `ReturnValuesOnConditionCheckFailure: ALL_OLD`: the prior state comes back
 *    either way, so nothing is read first;
 * 2. (the S3 PutObject / DeleteObject, `If-Match` the prior ETag);
 * 3. commit: one `TransactWriteItems`: a `Put` of the document item (without
 *    the intent attributes, a new `rev`) guarded by `intentWriter = :writer`,
 *    a `Put` per customer item and a `Delete` per customer that left.
 *
 * A failed S3 put ends with `clearIntent`: an `UpdateItem` REMOVE of the intent
 * attributes guarded by the writer id (and, when nothing was committed before,
 * a guarded `DeleteItem` of the empty item).
 *
 * Each operation and each of its steps is a named module-level function over the
 * {@link Protocol} record (`intentUpdate`, `sendIntent`, `intendAttempt`,
 * `commitItems`, `commitAttempt`, `removeIntent`, `deleteEmptyItem`); `make` builds
 * the record and binds them, once. The sweep's `intents` read is in `Intents.ts` (bound in `DynamoDB.ts`).
 *
 * @since 0.2.0
 */

import { randomUUID } from "node:crypto"
import { DeleteItemCommand, UpdateItemCommand, type UpdateItemCommandOutput } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  CacheError,
  type CommitOutcome,
  type ConditionFailedError,
  type IntentOutcome,
  type Service,
  type StaleWriteError,
} from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as Write from "../../internal/write.js"
import * as Table from "../../Table.js"
import {
  type Backend,
  cacheError,
  conditionalCheckItem,
  docKey,
  isConditionalCheckFailed,
  log,
  N,
  newStats,
  S,
  type Stats,
} from "./Call.js"
import * as Codec from "./Codec.js"
import { Conflict, type Current, type Guard, type Next } from "./Transact.js"
import type * as Writes from "./Writes.js"

const A = Table.intentAttributes

/** What every protocol operation reads: the backend and its reads and transaction builder. */
interface Protocol {
  readonly backend: Backend
  readonly writes: ReturnType<typeof Writes.make>
}

const contention = (operation: string, key: string) =>
  new CacheError({ reason: "Contention", operation, key, cause: "the document kept changing" })

/** The recorded intent and committed entry of a document. */
const inspect = (p: Protocol, kind: string, id: string): ReturnType<Service["inspect"]> => {
  const key = Write.keyOf(kind, id)
  const stats = newStats()
  return log(
    "cache.inspect",
    { table: p.backend.table, key, stats },
    // Plain steps, no generator: a read's hot path.
    Effect.flatMap(p.writes.getItem(stats, "inspect", kind, id), (item) =>
      Effect.map(Codec.decodeSlot(p.backend.registry, "inspect", key, item), (slot) => ({
        entry: Option.map(slot.committed, (s) => s.entry),
        intent: slot.intent,
      })),
    ),
    (inspection) => ({
      outcome: Option.isSome(inspection.intent) ? "intent" : Option.isSome(inspection.entry) ? "entry" : "Absent",
    }),
    "debug",
  )
}

type IntendRequest = Parameters<Service["intend"]>[0]

/**
 * The level of a write step's success line: debug for the ordinary outcome (the write's own
 * `writeThrough.*` line is info), info otherwise. Measured: formatting the two step lines as JSON
 * was ~0.5 ms of CPU per write (docs/observability.md).
 */
const stepLevel =
  <A>(ordinary: (a: A) => boolean) =>
  (a: A): "info" | "debug" =>
    ordinary(a) ? "debug" : "info"

/** The UpdateItem of an intent: its SET clauses, names, values and condition (built once per request). */
interface IntentUpdate {
  readonly sets: string
  readonly names: Record<string, string>
  readonly values: Items.Item
  readonly condition: string
}

const intentUpdate = (request: IntendRequest, intent: ReturnType<typeof Write.intentOf>): IntentUpdate => {
  const values = Codec.intentValues(request.kind, request.id, intent)
  const names: Record<string, string> = { "#rev": Codec.rev }
  const attributeValues: Items.Item = {}
  const sets: Array<string> = ["#rev = :rev"]
  Object.entries(values).forEach(([name, value], i) => {
    names[`#a${i}`] = name
    attributeValues[`:a${i}`] = value
    sets.push(`#a${i} = :a${i}`)
  })
  names["#iw"] = A.writer
  const put = request.change._tag === "Put" ? request.change : undefined
  if (put !== undefined) {
    names["#kind"] = "kind"
    names["#tomb"] = "tombstone"
    names["#ver"] = "version"
    attributeValues[":v"] = N(put.document.version)
  }
  attributeValues[":me"] = S(request.writer)
  // `#iw = :me`: a retry of this very request after a lost answer finds its own intent.
  const free = "(attribute_not_exists(#iw) OR #iw = :me)"
  const condition =
    put === undefined ? free : `${free} AND (attribute_not_exists(#kind) OR attribute_exists(#tomb) OR #ver < :v)`
  return { sets: `SET ${sets.join(", ")}`, names, values: attributeValues, condition }
}

/** The decision on the state of the item (as returned by the update, or read). */
const decideOn = (p: Protocol, key: string, request: IntendRequest, item: Option.Option<Items.Item>) =>
  Effect.map(Codec.decodeSlot(p.backend.registry, "intend", key, item), (slot) => ({
    slot,
    decision: Write.decideIntent(request, slot),
  }))

/** What the intent's UpdateItem did: wrote (the prior item), or was refused (the item that is there). */
interface Sent {
  readonly _tag: "Written" | "Refused"
  readonly item: Option.Option<Items.Item>
}

/** The conditional UpdateItem: `Written` with the prior item, or `Refused` with the item that is there. */
const sendIntent = (
  p: Protocol,
  stats: Stats,
  key: string,
  request: IntendRequest,
  update: IntentUpdate,
): Effect.Effect<Sent, CacheError> => {
  const { client, table, callWith } = p.backend
  // The three outcomes in the attempt's own steps (a `map`, a `catchIf` and a `mapError` were three steps).
  return callWith<UpdateItemCommandOutput, Sent, CacheError>(
    stats,
    (abortSignal) =>
      client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: docKey(request.kind, request.id),
          UpdateExpression: update.sets,
          ConditionExpression: update.condition,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: { ...update.values, ":rev": S(randomUUID()) },
          ReturnValues: "ALL_OLD",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          ...p.backend.capacity,
        }),
        { abortSignal },
      ),
    (out) => ({ _tag: "Written", item: Option.fromNullable(out.Attributes) }),
    (failure) =>
      isConditionalCheckFailed(failure.error)
        ? Effect.succeed({ _tag: "Refused", item: Option.fromNullable(conditionalCheckItem(failure.error)) })
        : Effect.fail(cacheError("intend", key)(failure)),
  )
}

/** In a dry run: the decision on the item read, and nothing written. */
const dryRunIntent = (p: Protocol, stats: Stats, key: string, request: IntendRequest) =>
  Effect.gen(function* () {
    const { slot, decision } = yield* decideOn(
      p,
      key,
      request,
      yield* p.writes.getItem(stats, "intend", request.kind, request.id),
    )
    if (decision._tag === "Fail") return yield* decision.error
    return outcomeOf(decision, slot)
  })

/** One attempt at recording the intent; decided again (up to 5 rounds) when refused on a state that allows it. */
const intendAttempt = (
  p: Protocol,
  stats: Stats,
  key: string,
  request: IntendRequest,
  update: IntentUpdate,
  round: number,
): Effect.Effect<IntentOutcome, CacheError | StaleWriteError> =>
  p.backend.dryRun
    ? dryRunIntent(p, stats, key, request)
    : // Plain combinators, not a generator: this runs on every write (each `yield*` is a step of the fiber).
      Effect.flatMap(sendIntent(p, stats, key, request, update), (written) =>
        Effect.flatMap(
          Codec.decodeSlot(p.backend.registry, "intend", key, written.item),
          (slot): Effect.Effect<IntentOutcome, CacheError | StaleWriteError> => {
            const decision = Write.decideIntent(request, slot)
            if (decision._tag === "Fail" && written._tag === "Refused") return Effect.fail(decision.error)
            if (written._tag === "Written")
              return Effect.succeed({ _tag: "Recorded", previous: Option.map(slot.committed, (s) => s.entry) })
            if (decision._tag === "Record") {
              // Refused, yet the state returned allows it: it changed in between. Decide again.
              if (round >= 5) return Effect.fail(contention("intend", key))
              return intendAttempt(p, stats, key, request, update, round + 1)
            }
            if (decision._tag === "Fail") return Effect.fail(decision.error)
            return Effect.succeed(outcomeOf(decision, slot))
          },
        ),
      )

/** Step 1 of a write: record the writer's intent on the document item. */
const intend = (p: Protocol, request: IntendRequest): ReturnType<Service["intend"]> => {
  const key = Write.keyOf(request.kind, request.id)
  const stats = newStats()
  const intent = Write.intentOf(request)
  return log(
    "cache.intend",
    {
      table: p.backend.table,
      key,
      writer: request.writer,
      operation: intent.operation,
      ...(intent.version !== undefined ? { version: intent.version } : {}),
      stats,
    },
    intendAttempt(p, stats, key, request, intentUpdate(request, intent), 0),
    (outcome) => ({ outcome: outcome._tag }),
    // A recorded (or unneeded) intent is a step of the write, whose own line is info; a wait is not.
    stepLevel((outcome) => outcome._tag !== "Blocked"),
  )
}

type CommitRequest = Parameters<Service["commit"]>[0]

/** The items a commit leaves: the document's, or a tombstone expiring `ttlSeconds` after `now`. */
const commitItems = (backend: Backend, request: CommitRequest, now: number): Next => {
  const change = request.change
  return change._tag === "Put"
    ? Codec.documentItems(backend, change.document, {
        s3Key: change.s3Key,
        etag: change.etag,
      })
    : {
        document: Items.tombstoneItem(
          request.kind,
          request.id,
          Math.floor(now / 1000) + Math.max(1, Math.round(change.ttlSeconds)),
          change.etag !== undefined ? { etag: change.etag } : {},
        ),
        customers: [],
      }
}

/** One attempt at the commit transaction; on a conflict, decided on the item returned (up to 3 rounds). */
const commitAttempt = (
  p: Protocol,
  stats: Stats,
  key: string,
  request: CommitRequest,
  guard: Guard,
  round: number,
): Effect.Effect<CommitOutcome, CacheError | ConditionFailedError> => {
  // The item DynamoDB returned on a conflict decides: already ours, another's, or try again.
  const onConflict = (conflict: Conflict): Effect.Effect<CommitOutcome, CacheError | ConditionFailedError> =>
    Effect.flatMap(Codec.decodeSlot(p.backend.registry, "commit", key, conflict.item), (slot) => {
      const decision = Write.decideCommit(request, slot)
      if (decision._tag === "Already") return Effect.succeed<CommitOutcome>({ _tag: "AlreadyCommitted" })
      if (decision._tag === "Fail") return Effect.fail(decision.error)
      if (round >= 3) return Effect.fail(contention("commit", key))
      return commitAttempt(p, stats, key, request, guard, round + 1)
    })
  // Plain combinators, not a generator: this runs on every write (each `yield*` is a step of the fiber).
  return Effect.clockWith((clock) => {
    const next = commitItems(p.backend, request, clock.unsafeCurrentTimeMillis())
    if (p.backend.dryRun) return Effect.succeed<CommitOutcome>({ _tag: "Committed" })
    const current: Current = {
      document: Option.none(),
      customerSks: Codec.customerSksOfEntry(request.previous),
    }
    return Effect.matchEffect(p.writes.replace(stats, request.kind, request.id, current, next, guard, true), {
      onSuccess: () => Effect.succeed<CommitOutcome>({ _tag: "Committed" }),
      onFailure: (e) => (e instanceof Conflict ? onConflict(e) : Effect.fail(cacheError("commit", key)(e as never))),
    })
  })
}

/** Step 3 of a write: the committed items and the intent cleared, in one transaction guarded by the writer. */
const commit = (p: Protocol, request: CommitRequest): ReturnType<Service["commit"]> => {
  const key = Write.keyOf(request.kind, request.id)
  const stats = newStats()
  const guard: Guard = {
    ConditionExpression: "#iw = :writer",
    ExpressionAttributeNames: { "#iw": A.writer },
    ExpressionAttributeValues: { ":writer": S(request.writer) },
  }
  return log(
    "cache.commit",
    { table: p.backend.table, key, writer: request.writer, change: request.change._tag, stats },
    commitAttempt(p, stats, key, request, guard, 0),
    (outcome) => ({ outcome: outcome._tag }),
    stepLevel((outcome) => outcome._tag === "Committed"),
  )
}

/** The names of the intent attributes for a REMOVE (`#r0` is the writer), and the clause. */
const intentRemoval = (() => {
  const names: Record<string, string> = { "#rev": Codec.rev }
  Codec.intentAttributeNames.forEach((name, i) => {
    names[`#r${i}`] = name
  })
  return { names, removes: Codec.intentAttributeNames.map((_, i) => `#r${i}`).join(", ") }
})()

/** REMOVEs the intent attributes, guarded by the writer id: the item afterwards, or none when not ours. */
const removeIntent = (p: Protocol, stats: Stats, key: string, kind: string, id: string, writer: string) => {
  const { client, table, call } = p.backend
  return call(stats, (abortSignal) =>
    client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: docKey(kind, id),
        UpdateExpression: `SET #rev = :rev REMOVE ${intentRemoval.removes}`,
        ConditionExpression: "#r0 = :writer",
        ExpressionAttributeNames: { ...intentRemoval.names },
        ExpressionAttributeValues: { ":rev": S(randomUUID()), ":writer": S(writer) },
        ReturnValues: "ALL_NEW",
        ...p.backend.capacity,
      }),
      { abortSignal },
    ),
  ).pipe(
    Effect.map((out) => Option.fromNullable(out.Attributes)),
    Effect.catchIf(
      (failure) => isConditionalCheckFailed(failure.error),
      () => Effect.succeed(Option.none<Items.Item>()),
    ),
    Effect.mapError(cacheError("clearIntent", key)),
  )
}

/** Nothing was committed before the intent: removes the empty item, so the key is absent again. */
const deleteEmptyItem = (p: Protocol, stats: Stats, key: string, kind: string, id: string) => {
  const { client, table, call } = p.backend
  return call(stats, (abortSignal) =>
    client.send(
      new DeleteItemCommand({
        TableName: table,
        Key: docKey(kind, id),
        ConditionExpression:
          "attribute_not_exists(#kind) AND attribute_not_exists(#tomb) AND attribute_not_exists(#iw)",
        ExpressionAttributeNames: { "#kind": "kind", "#tomb": "tombstone", "#iw": A.writer },
        ...p.backend.capacity,
      }),
      { abortSignal },
    ),
  ).pipe(
    Effect.catchIf(
      (failure) => isConditionalCheckFailed(failure.error),
      () => Effect.void,
    ),
    Effect.mapError(cacheError("clearIntent", key)),
  )
}

/** After a failed S3 step: drop our intent (and the item, when it held nothing else). */
const clearIntent = (p: Protocol, kind: string, id: string, writer: string): ReturnType<Service["clearIntent"]> => {
  const key = Write.keyOf(kind, id)
  const stats = newStats()
  return log(
    "cache.clearIntent",
    { table: p.backend.table, key, writer, stats },
    Effect.gen(function* () {
      if (p.backend.dryRun) return "dry-run"
      const cleared = yield* removeIntent(p, stats, key, kind, id, writer)
      if (Option.isNone(cleared)) return "absent"
      if (cleared.value.kind !== undefined || cleared.value.tombstone !== undefined) return "cleared"
      yield* deleteEmptyItem(p, stats, key, kind, id)
      return "cleared"
    }),
    (outcome) => ({ outcome }),
    "debug",
  ).pipe(Effect.asVoid)
}

/** The protocol operations of the backend, over its reads and transaction builder. */
export const make = (
  backend: Backend,
  writes: ReturnType<typeof Writes.make>,
): Pick<Service, "inspect" | "intend" | "commit" | "clearIntent"> => {
  const p: Protocol = { backend, writes }
  return {
    inspect: (kind, id) => inspect(p, kind, id),
    intend: (request) => intend(p, request),
    commit: (request) => commit(p, request),
    clearIntent: (kind, id, writer) => clearIntent(p, kind, id, writer),
  }
}

const outcomeOf = (
  decision: Exclude<Write.IntentDecision, { readonly _tag: "Fail" }>,
  slot: Write.Slot,
): IntentOutcome => {
  const previous = Option.map(slot.committed, (s) => s.entry)
  switch (decision._tag) {
    case "Unchanged":
      return { _tag: "Unchanged", current: decision.current }
    case "Blocked":
      return { _tag: "Blocked", intent: decision.intent, previous }
    case "Record":
      return { _tag: "Recorded", previous }
  }
}

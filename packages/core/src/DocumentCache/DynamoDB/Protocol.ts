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
 * @since 0.2.0
 */

import { randomUUID } from "node:crypto"
import { DeleteItemCommand, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import {
  CacheError,
  type CommitOutcome,
  type ConditionFailedError,
  type IntentOutcome,
  type PendingIntent,
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

/** The protocol operations of the backend, over its reads and transaction builder. */
export const make = (
  backend: Backend,
  writes: ReturnType<typeof Writes.make>,
): Pick<Service, "inspect" | "intend" | "commit" | "clearIntent" | "intents"> => {
  const { client, table, registry, call, dryRun } = backend

  const inspect: Service["inspect"] = (kind, id) => {
    const key = Write.keyOf(kind, id)
    const stats = newStats()
    return log(
      "cache.inspect",
      { table, key, stats },
      Effect.gen(function* () {
        const item = yield* writes.getItem(stats, "inspect", kind, id)
        const slot = yield* Codec.decodeSlot(registry, "inspect", key, item)
        return { entry: Option.map(slot.committed, (s) => s.entry), intent: slot.intent }
      }),
      (inspection) => ({
        outcome: Option.isSome(inspection.intent) ? "intent" : Option.isSome(inspection.entry) ? "entry" : "Absent",
      }),
      "debug",
    )
  }

  const intend: Service["intend"] = (request) => {
    const key = Write.keyOf(request.kind, request.id)
    const stats = newStats()
    const intent = Write.intentOf(request)
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
    const decide = (item: Option.Option<Items.Item>) =>
      Effect.map(Codec.decodeSlot(registry, "intend", key, item), (slot) => ({
        slot,
        decision: Write.decideIntent(request, slot),
      }))
    const attempt = (round: number): Effect.Effect<IntentOutcome, CacheError | StaleWriteError> =>
      Effect.gen(function* () {
        if (dryRun) {
          const { slot, decision } = yield* decide(yield* writes.getItem(stats, "intend", request.kind, request.id))
          if (decision._tag === "Fail") return yield* decision.error
          return outcomeOf(decision, slot)
        }
        const written = yield* call(stats, (abortSignal) =>
          client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: docKey(request.kind, request.id),
              UpdateExpression: `SET ${sets.join(", ")}`,
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: { ...attributeValues, ":rev": S(randomUUID()) },
              ReturnValues: "ALL_OLD",
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              ReturnConsumedCapacity: "TOTAL",
            }),
            { abortSignal },
          ),
        ).pipe(
          Effect.map((out) => ({ _tag: "Written" as const, item: Option.fromNullable(out.Attributes) })),
          Effect.catchIf(
            (failure) => isConditionalCheckFailed(failure.error),
            (failure) =>
              Effect.succeed({
                _tag: "Refused" as const,
                item: Option.fromNullable(conditionalCheckItem(failure.error)),
              }),
          ),
          Effect.mapError(cacheError("intend", key)),
        )
        const { slot, decision } = yield* decide(written.item)
        if (decision._tag === "Fail" && written._tag === "Refused") return yield* decision.error
        if (written._tag === "Written")
          return { _tag: "Recorded", previous: Option.map(slot.committed, (s) => s.entry) } as IntentOutcome
        if (decision._tag === "Record") {
          // Refused, yet the state returned allows it: it changed in between. Decide again.
          if (round >= 5) {
            return yield* new CacheError({
              reason: "Contention",
              operation: "intend",
              key,
              cause: "the document kept changing",
            })
          }
          return yield* attempt(round + 1)
        }
        if (decision._tag === "Fail") return yield* decision.error
        return outcomeOf(decision, slot)
      })
    return log(
      "cache.intend",
      {
        table,
        key,
        writer: request.writer,
        operation: intent.operation,
        ...(intent.version !== undefined ? { version: intent.version } : {}),
        stats,
      },
      attempt(0),
      (outcome) => ({ outcome: outcome._tag }),
    )
  }

  const commit: Service["commit"] = (request) => {
    const key = Write.keyOf(request.kind, request.id)
    const stats = newStats()
    const guard: Guard = {
      ConditionExpression: "#iw = :writer",
      ExpressionAttributeNames: { "#iw": A.writer },
      ExpressionAttributeValues: { ":writer": S(request.writer) },
    }
    const attempt = (round: number): Effect.Effect<CommitOutcome, CacheError | ConditionFailedError> =>
      Effect.gen(function* () {
        const change = request.change
        const now = yield* Clock.currentTimeMillis
        const next: Next =
          change._tag === "Put"
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
        if (dryRun) return { _tag: "Committed" } as CommitOutcome
        const current: Current = {
          document: Option.none(),
          customerSks: Codec.customerSksOfEntry(request.previous),
        }
        const result = yield* writes.replace(stats, request.kind, request.id, current, next, guard, true).pipe(
          Effect.as(Option.none<Conflict>()),
          Effect.catchIf(
            (e): e is Conflict => e instanceof Conflict,
            (conflict) => Effect.succeed(Option.some(conflict)),
          ),
          Effect.mapError((e) => cacheError("commit", key)(e as never)),
        )
        if (Option.isNone(result)) return { _tag: "Committed" } as CommitOutcome
        const slot = yield* Codec.decodeSlot(registry, "commit", key, result.value.item)
        const decision = Write.decideCommit(request, slot)
        if (decision._tag === "Already") return { _tag: "AlreadyCommitted" } as CommitOutcome
        if (decision._tag === "Fail") return yield* decision.error
        if (round >= 3)
          return yield* new CacheError({
            reason: "Contention",
            operation: "commit",
            key,
            cause: "the document kept changing",
          })
        return yield* attempt(round + 1)
      })
    return log(
      "cache.commit",
      { table, key, writer: request.writer, change: request.change._tag, stats },
      attempt(0),
      (outcome) => ({ outcome: outcome._tag }),
    )
  }

  const clearIntent: Service["clearIntent"] = (kind, id, writer) => {
    const key = Write.keyOf(kind, id)
    const stats = newStats()
    const names: Record<string, string> = { "#rev": Codec.rev }
    Codec.intentAttributeNames.forEach((name, i) => {
      names[`#r${i}`] = name
    })
    const removes = Codec.intentAttributeNames.map((_, i) => `#r${i}`)
    return log(
      "cache.clearIntent",
      { table, key, writer, stats },
      Effect.gen(function* () {
        if (dryRun) return "dry-run"
        const cleared = yield* call(stats, (abortSignal) =>
          client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: docKey(kind, id),
              UpdateExpression: `SET #rev = :rev REMOVE ${removes.join(", ")}`,
              ConditionExpression: "#r0 = :writer",
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: { ":rev": S(randomUUID()), ":writer": S(writer) },
              ReturnValues: "ALL_NEW",
              ReturnConsumedCapacity: "TOTAL",
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
        if (Option.isNone(cleared)) return "absent"
        if (cleared.value.kind !== undefined || cleared.value.tombstone !== undefined) return "cleared"
        // Nothing was committed before the intent: remove the empty item, so the key is absent again.
        yield* call(stats, (abortSignal) =>
          client.send(
            new DeleteItemCommand({
              TableName: table,
              Key: docKey(kind, id),
              ConditionExpression:
                "attribute_not_exists(#kind) AND attribute_not_exists(#tomb) AND attribute_not_exists(#iw)",
              ExpressionAttributeNames: { "#kind": "kind", "#tomb": "tombstone", "#iw": A.writer },
              ReturnConsumedCapacity: "TOTAL",
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
        return "cleared"
      }),
      (outcome) => ({ outcome }),
    ).pipe(Effect.asVoid)
  }

  const intents: Service["intents"] = ({ expiredBefore }) => {
    const stats: Stats = newStats()
    const bound = Codec.intentSortKey(expiredBefore, "", "").slice(0, 15)
    const shard = (n: number) =>
      Stream.paginateChunkEffect(undefined as Items.Item | undefined, (start) =>
        call(stats, (abortSignal) =>
          client.send(
            new QueryCommand({
              TableName: table,
              IndexName: Table.index("IntentIndex").name,
              KeyConditionExpression: "#p = :p AND #s < :bound",
              ExpressionAttributeNames: { "#p": A.indexPartition, "#s": A.indexSort },
              ExpressionAttributeValues: { ":p": S(`I#${n}`), ":bound": S(bound) },
              ReturnConsumedCapacity: "TOTAL",
              ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
            }),
            { abortSignal },
          ),
        ).pipe(
          Effect.mapError(cacheError("intents", `I#${n}`)),
          Effect.map((out) => {
            const found = (out.Items ?? []).flatMap((item): Array<PendingIntent> => {
              const parsed = Items.parseDocumentPk(item[Table.definition.partitionKey]?.S ?? "")
              const intent = Codec.intentOf(item)
              return parsed === undefined || Option.isNone(intent) ? [] : [{ ...parsed, intent: intent.value }]
            })
            return [Chunk.unsafeFromArray(found), Option.fromNullable(out.LastEvaluatedKey)] as const
          }),
        ),
      )
    return Stream.concatAll(Chunk.makeBy(Table.intentShards, shard))
  }

  return { inspect, intend, commit, clearIntent, intents }
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

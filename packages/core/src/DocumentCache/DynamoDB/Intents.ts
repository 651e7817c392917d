/**
 * The sweep's read of the DynamoDB backend: the intents whose lease ended before a
 * bound, from the sparse IntentIndex (`intentPk` = `I#{0..7}`, `intentSk` =
 * `{lease, 15 digits}#{kind}#{id}`), one paged Query per shard and nothing scanned
 * (`intentsOfShard`, `intents`). `Protocol.ts` exposes it as the port's `intents`.
 *
 * @since 0.2.0
 */

import { QueryCommand } from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { PendingIntent, Service } from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as Table from "../../Table.js"
import { type Backend, cacheError, newStats, S, type Stats } from "./Call.js"
import * as Codec from "./Codec.js"

const A = Table.intentAttributes

/** The intents of one IntentIndex shard (`I#{n}`) whose lease ends before `bound`, page by page. */
const intentsOfShard = (backend: Backend, stats: Stats, bound: string, n: number) => {
  const { client, table, call } = backend
  return Stream.paginateChunkEffect(undefined as Items.Item | undefined, (start) =>
    call(stats, (abortSignal) =>
      client.send(
        new QueryCommand({
          TableName: table,
          IndexName: Table.index("IntentIndex").name,
          KeyConditionExpression: "#p = :p AND #s < :bound",
          ExpressionAttributeNames: { "#p": A.indexPartition, "#s": A.indexSort },
          ExpressionAttributeValues: { ":p": S(`I#${n}`), ":bound": S(bound) },
          ...backend.capacity,
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
}

/** Intents whose lease ended before `expiredBefore`, from every IntentIndex shard. */
export const intents = (backend: Backend, expiredBefore: number): ReturnType<Service["intents"]> => {
  const stats: Stats = newStats()
  const bound = Codec.intentSortKey(expiredBefore, "", "").slice(0, 15)
  return Stream.concatAll(Chunk.makeBy(Table.intentShards, (n) => intentsOfShard(backend, stats, bound, n)))
}

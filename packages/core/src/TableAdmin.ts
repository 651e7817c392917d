/**
 * Creating and describing Docket's table from its one definition (`Table`):
 * what local and test setups run (`docket table create|describe`, the local
 * stack). Production tables come from the Terraform, which is checked against
 * the same definition.
 *
 * Written on the AWS SDK's own client rather than `@effect-aws/client-dynamodb`:
 * its service module builds an Effect wrapper for every DynamoDB command and
 * pulls in the `effect` barrel, which measured +176 KB minified (736 KB vs
 * 560 KB for one bundled GetItem) and a slower import (p50 of 10 interleaved
 * runs, 2-core EPYC under load: 922 ms vs 666 ms), for two calls an Effect
 * `tryPromise` covers. The package was removed from `@docket/core`'s
 * dependencies for that reason.
 *
 * @since 0.1.0
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as DocketError from "./DocketError.js"
import * as Retry from "./Retry.js"
import * as Table from "./Table.js"

/** A table operation failed (after retries). */
export class TableError extends DocketError.Remote("TableError")<{
  readonly reason: DocketError.Reason
  readonly operation: string
  readonly table: string
  readonly cause?: unknown
}> {
  override get message() {
    return `DynamoDB ${this.operation} on table ${this.table} failed (${this.reason})${DocketError.causeText(this.cause)}`
  }
}

/** What {@link describe} reports. */
export interface Description {
  readonly table: string | undefined
  readonly status: string | undefined
  readonly billing: string
  /** `pk(partition) sk(sort)`. */
  readonly keys: string
  readonly indexes: ReadonlyArray<{
    readonly name: string | undefined
    readonly keys: string
    readonly status: string | undefined
  }>
  readonly ttl: { readonly attribute: string | null; readonly status: string }
  readonly itemCount: number
  readonly sizeBytes: number
  /** True when the table's indexes are exactly those of `Table.definition`. */
  readonly matchesDefinition: boolean
}

const send = <A>(operation: string, table: string, call: (signal: AbortSignal) => Promise<A>) =>
  Effect.tryPromise({
    try: call,
    catch: (cause) => new TableError({ reason: Retry.classify(cause).reason, operation, table, cause }),
  }).pipe(Retry.retrying(Retry.defaultPolicy))

const isInUse = (error: TableError) =>
  (error.cause as { name?: unknown } | undefined)?.name === "ResourceInUseException"

/**
 * Creates the table from `Table.definition` and turns TTL on for its
 * expiry attribute. `Exists` (and nothing changed) when a table of that name is
 * there already. Tags are cost tags (DynamoDB Local does not support them: pass none).
 */
export const create = (
  client: DynamoDBClient,
  table: string,
  options: { readonly tags?: Readonly<Record<string, string>> } = {},
): Effect.Effect<"Created" | "Exists", TableError> =>
  send("CreateTable", table, (abortSignal) =>
    client.send(new CreateTableCommand(Table.createTableInput(table, options.tags ?? {})), { abortSignal }),
  ).pipe(
    Effect.as(true),
    Effect.catchIf(isInUse, () => Effect.succeed(false)),
    Effect.flatMap((created) =>
      created
        ? send("UpdateTimeToLive", table, (abortSignal) =>
            client.send(
              new UpdateTimeToLiveCommand({
                TableName: table,
                TimeToLiveSpecification: { AttributeName: Table.definition.ttlAttribute, Enabled: true },
              }),
              { abortSignal },
            ),
          ).pipe(Effect.as("Created" as const))
        : Effect.succeed("Exists" as const),
    ),
    Effect.withSpan("TableAdmin.create", { attributes: { table } }),
  )

const keysOf = (schema: ReadonlyArray<{ AttributeName?: string | undefined; KeyType?: string | undefined }> = []) =>
  schema.map((k) => `${k.AttributeName}(${k.KeyType === "HASH" ? "partition" : "sort"})`).join(" ")

const sortedNames = (names: ReadonlyArray<string | undefined>) => [...names].sort().join(",")

/** The table's keys, indexes, TTL and item count, and whether its indexes are Docket's. */
export const describe = (client: DynamoDBClient, table: string): Effect.Effect<Description, TableError> =>
  Effect.all(
    [
      send("DescribeTable", table, (abortSignal) =>
        client.send(new DescribeTableCommand({ TableName: table }), { abortSignal }),
      ),
      send("DescribeTimeToLive", table, (abortSignal) =>
        client.send(new DescribeTimeToLiveCommand({ TableName: table }), { abortSignal }),
      ),
    ],
    { concurrency: 2 },
  ).pipe(
    Effect.map(([described, ttl]): Description => {
      const t = described.Table
      const indexes = t?.GlobalSecondaryIndexes ?? []
      return {
        table: t?.TableName,
        status: t?.TableStatus,
        billing: t?.BillingModeSummary?.BillingMode ?? "PAY_PER_REQUEST",
        keys: keysOf(t?.KeySchema),
        indexes: indexes.map((i) => ({ name: i.IndexName, keys: keysOf(i.KeySchema), status: i.IndexStatus })),
        ttl: {
          attribute: ttl.TimeToLiveDescription?.AttributeName ?? null,
          status: ttl.TimeToLiveDescription?.TimeToLiveStatus ?? "DISABLED",
        },
        itemCount: t?.ItemCount ?? 0,
        sizeBytes: t?.TableSizeBytes ?? 0,
        matchesDefinition:
          sortedNames(indexes.map((i) => i.IndexName)) === sortedNames(Table.definition.indexes.map((i) => i.name)),
      }
    }),
    Effect.withSpan("TableAdmin.describe", { attributes: { table } }),
  )

/**
 * `docket table create|describe`: the table from core's one definition, through
 * core's `TableAdmin` (the same Effects the local stack runs). Local and test
 * setups; production tables come from the Terraform. Imported when one of the
 * commands (declared in `Cli.ts`) runs.
 *
 * @since 0.1.0
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Table from "@docket/core/Table"
import * as TableAdmin from "@docket/core/TableAdmin"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Environment from "../Environment.js"
import * as Output from "../Output.js"

/** A DynamoDB client on the resolved endpoint and credentials, destroyed with the command's scope. */
const dynamoClient = Effect.flatMap(Environment.Environment, ({ settings, credentials }) =>
  Effect.acquireRelease(
    Effect.sync(
      () =>
        new DynamoDBClient({
          region: settings.region,
          ...(Option.isSome(settings.dynamodbEndpoint) ? { endpoint: settings.dynamodbEndpoint.value } : {}),
          ...(Option.isSome(credentials) ? { credentials: credentials.value } : {}),
          maxAttempts: 1,
        }),
    ),
    (client) => Effect.sync(() => client.destroy()),
  ),
)

/** `docket table create` */
const runCreate = (o: { readonly tag: Option.Option<HashMap.HashMap<string, string>> }) =>
  Effect.gen(function* () {
    const { settings, globals } = yield* Environment.Environment
    const local = Option.isSome(settings.dynamodbEndpoint)
    const tags = Option.match(o.tag, { onNone: () => ({}), onSome: (m) => Object.fromEntries(HashMap.toEntries(m)) })
    if (local && Object.keys(tags).length > 0) {
      yield* Output.note("note: tags are skipped on a custom endpoint (DynamoDB Local does not support tagging)")
    }
    if (settings.dryRun) {
      return yield* Output.line(
        `dry run: would create table ${settings.table} with TTL on ${Table.definition.ttlAttribute}`,
      )
    }
    const outcome = yield* TableAdmin.create(yield* dynamoClient, settings.table, { tags: local ? {} : tags })
    const created = outcome === "Created"
    const result = { table: settings.table, created, ttlAttribute: Table.definition.ttlAttribute }
    yield* Output.line(
      globals.format === "table"
        ? created
          ? `created table ${settings.table} (TTL on ${Table.definition.ttlAttribute})`
          : `table ${settings.table} already exists`
        : JSON.stringify(result),
    )
  }).pipe(Effect.scoped)

const describeLines = (d: TableAdmin.Description): string =>
  [
    `table     ${d.table} (${d.status}, ${d.billing})`,
    `keys      ${d.keys}`,
    ...d.indexes.map((i) => `index     ${i.name}: ${i.keys} (${i.status})`),
    `ttl       ${d.ttl.attribute ?? "-"} (${d.ttl.status})`,
    `items     ${d.itemCount} (${d.sizeBytes} bytes; DynamoDB updates this about every 6 hours)`,
    `definition ${d.matchesDefinition ? "matches core's table definition" : "DIFFERS from core's table definition"}`,
  ].join("\n")

/** `docket table describe` */
const runDescribe = Effect.gen(function* () {
  const { settings, globals } = yield* Environment.Environment
  const description = yield* TableAdmin.describe(yield* dynamoClient, settings.table)
  yield* Output.line(globals.format === "table" ? describeLines(description) : JSON.stringify(description))
}).pipe(Effect.scoped)

/** The table commands need the resolved settings and a logger, not Docket's services. */
const provide = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provide(self, Environment.layerRuntime.pipe(Layer.provideMerge(Environment.layer)))

/** `docket table create` (declared in `Cli.ts`). */
export const create = (o: { readonly tag: Option.Option<HashMap.HashMap<string, string>> }) =>
  runCreate(o).pipe(provide)

/** `docket table describe` (declared in `Cli.ts`). */
export const describe = runDescribe.pipe(provide)

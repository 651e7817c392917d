/**
 * The `docket` command line (DESIGN section 10): the root command with the
 * global options (`GlobalOptions`), every subcommand with its own arguments,
 * options and help text, and nothing else. Each command's body lives in its
 * group's module under `commands/` (or `LocalMode`, `Demo`) and is imported
 * when the command runs: `--help`, `--version` and usage errors never load
 * them, nor core's workflows and the AWS SDK behind them (startup time,
 * measured by the `cli-startup` benchmark). `bin.ts` provides the platform and
 * runs it.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as GlobalOptions from "./GlobalOptions.js"

// The command groups' bodies, imported when one of their commands runs.
const documents = Effect.promise(() => import("./commands/Documents.js"))
const queries = Effect.promise(() => import("./commands/Query.js"))
const backfills = Effect.promise(() => import("./commands/Backfill.js"))
const repairs = Effect.promise(() => import("./commands/Repair.js"))
const tables = Effect.promise(() => import("./commands/Table.js"))
const doctors = Effect.promise(() => import("./commands/Doctor.js"))

const kindArg = Args.text({ name: "KIND" }).pipe(Args.withDescription("Document kind: change or announcement"))
const idArg = Args.text({ name: "ID" }).pipe(Args.withDescription("Document id, e.g. CHG-2026-000123"))
const manifestOption = Options.text("manifest").pipe(
  Options.optional,
  Options.withDescription("Read the S3 side from an S3 Inventory: s3://BUCKET/.../manifest.json (CSV or Parquet)"),
)

/** `docket put FILE|-` */
export const put = Command.make(
  "put",
  {
    file: Args.text({ name: "FILE" }).pipe(
      Args.withDescription("A JSON document, or NDJSON (one document per line); - reads stdin"),
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDefault(8),
      Options.withDescription("Documents written at once"),
    ),
  },
  (o) => Effect.flatMap(documents, (m) => m.put(o)),
).pipe(
  Command.withDescription(
    "Write documents through the cache to S3. Every document is validated first; if any is invalid nothing is written (exit 2).",
  ),
)

/** `docket get KIND ID` */
export const get = Command.make("get", { kind: kindArg, id: idArg }, (o) =>
  Effect.flatMap(documents, (m) => m.get(o)),
).pipe(Command.withDescription("Read a document (cache first, S3 on a miss) and print it as JSON."))

/** `docket delete KIND ID` */
export const del = Command.make("delete", { kind: kindArg, id: idArg }, (o) =>
  Effect.flatMap(documents, (m) => m.del(o)),
).pipe(Command.withDescription("Delete a document from S3 and the cache."))

/** The options every query subcommand takes; core's planner validates them. */
const queryOptions = {
  from: Options.text("from").pipe(
    Options.optional,
    Options.withDescription("Start of the range, inclusive (ISO-8601); default now - ttl-days"),
  ),
  to: Options.text("to").pipe(
    Options.optional,
    Options.withDescription("End of the range, exclusive (ISO-8601); default now + 1 year"),
  ),
  kind: Options.text("kind").pipe(Options.optional, Options.withDescription("Only documents of this kind")),
  limit: Options.integer("limit").pipe(Options.withDefault(50), Options.withDescription("Page size (1-1000)")),
  cursor: Options.text("cursor").pipe(
    Options.optional,
    Options.withDescription("Resume after the page that printed this cursor"),
  ),
}

const queryTime = Command.make("time", queryOptions, (o) =>
  Effect.flatMap(queries, (m) => m.query({ _tag: "Time" }, o)),
).pipe(
  Command.withDescription(
    "Documents whose time (a change's schedule.start, an announcement's publishAt) is in [from, to).",
  ),
)

const queryCustomer = Command.make(
  "customer",
  { ...queryOptions, customer: Args.text({ name: "CODE" }).pipe(Args.withDescription("Customer code")) },
  (o) => Effect.flatMap(queries, (m) => m.query({ _tag: "Customer", customer: o.customer }, o)),
).pipe(Command.withDescription("One customer's documents in [from, to)."))

const queryStatus = Command.make(
  "status",
  { ...queryOptions, status: Args.text({ name: "STATUS" }).pipe(Args.withDescription("A status, e.g. approved")) },
  (o) => Effect.flatMap(queries, (m) => m.query({ _tag: "Status", status: o.status }, o)),
).pipe(Command.withDescription("Documents of one status in [from, to)."))

/** `docket query time|customer CODE|status STATUS` */
export const query = Command.make("query").pipe(
  Command.withDescription("Query the cache's indexes. --format json prints {items, cursor, complete}."),
  Command.withSubcommands([queryTime, queryCustomer, queryStatus]),
)

/** `docket backfill` */
export const backfill = Command.make(
  "backfill",
  {
    from: Options.text("from").pipe(Options.optional, Options.withDescription("Only documents with time >= this")),
    to: Options.text("to").pipe(Options.optional, Options.withDescription("Only documents with time < this")),
    customer: Options.text("customer").pipe(
      Options.repeated,
      Options.withDescription("Only documents of this customer (repeatable)"),
    ),
    kind: Options.text("kind").pipe(
      Options.repeated,
      Options.withDescription("Only documents of this kind (repeatable)"),
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDefault(8),
      Options.withDescription("Documents in flight at once"),
    ),
    resume: Options.boolean("resume").pipe(
      Options.withDescription("Continue after the checkpoint an interrupted run left"),
    ),
    checkpoint: Options.text("checkpoint").pipe(
      Options.optional,
      Options.withDescription("Checkpoint file; default .docket/backfill-TABLE-BUCKET[-shard-I-of-N].json"),
    ),
    manifest: manifestOption,
    shard: Options.text("shard").pipe(
      Options.optional,
      Options.withDescription(
        "I/N: process only shard I of N (0-based) of the listing, split by a stable hash of the key",
      ),
    ),
  },
  (o) => Effect.flatMap(backfills, (m) => m.backfill(o)),
).pipe(
  Command.withDescription(
    "Fill the cache from S3: stream the listing, filter, write under the rate limit. Exit 1 if any document failed.",
  ),
)

/** `docket reconcile [--fix]` */
export const reconcile = Command.make(
  "reconcile",
  {
    fix: Options.boolean("fix").pipe(Options.withDescription("Repair the cache from S3")),
    concurrency: Options.integer("concurrency").pipe(Options.withDefault(8)),
    manifest: manifestOption,
    segments: Options.integer("segments").pipe(
      Options.optional,
      Options.withDescription("Parallel Scan segments of the table (1-1000; default 16, Reconcile.defaultSegments)"),
    ),
  },
  (o) => Effect.flatMap(repairs, (m) => m.reconcile(o)),
).pipe(
  Command.withDescription(
    "Compare cache and S3: missing, stale, orphaned, expired. Exit 0 clean (or all fixed), 3 drift found, 1 failure.",
  ),
)

/** `docket heal` */
export const heal = Command.make("heal", {}, () => Effect.flatMap(repairs, (m) => m.heal)).pipe(
  Command.withDescription(
    "Resolve abandoned write intents (a writer died between its intent and its commit) from the intents index. Exit 1 if any failed.",
  ),
)

const tableCreate = Command.make(
  "create",
  {
    tag: Options.keyValueMap("tag").pipe(
      Options.optional,
      Options.withDescription("Cost tag key=value (repeatable; skipped on DynamoDB Local)"),
    ),
  },
  (o) => Effect.flatMap(tables, (m) => m.create(o)),
).pipe(Command.withDescription("Create the table from core's definition, with TTL on expiresAt."))

const tableDescribe = Command.make("describe", {}, () => Effect.flatMap(tables, (m) => m.describe)).pipe(
  Command.withDescription("Show the table's keys, indexes, TTL and item count."),
)

/** `docket table create|describe` */
export const table = Command.make("table").pipe(
  Command.withDescription("Create or describe the table (local and test setups; production uses Terraform)."),
  Command.withSubcommands([tableCreate, tableDescribe]),
)

/** `docket doctor` */
export const doctor = Command.make(
  "doctor",
  {
    function: Options.text("function").pipe(
      Options.optional,
      Options.withDescription("The sync Lambda (name or ARN): compare its environment; the bucket must notify it"),
    ),
    queue: Options.text("queue").pipe(
      Options.optional,
      Options.withDescription("The SQS queue ARN the bucket notifies (delivery = sqs)"),
    ),
    namespace: Options.text("namespace").pipe(
      Options.withDefault("Docket"),
      Options.withDescription("CloudWatch namespace of Docket's metrics"),
    ),
  },
  (o) => Effect.flatMap(doctors, (m) => m.doctor(o)),
).pipe(
  Command.withDescription(
    "Check a deployment: configuration, credentials, reachability, the table against Docket's definition, the bucket's event delivery, the function's environment, recent metrics. Exit 0 only when no check failed.",
  ),
)

/** `docket local start` */
const localStart = Command.make(
  "start",
  {
    delivery: Options.choice("delivery", ["sqs", "direct"]).pipe(
      Options.withDefault("sqs" as const),
      Options.withDescription(
        "How S3 changes reach the sync: sqs (a queue in the emulator, polled like Lambda's event source mapping, with a dead-letter queue) or direct (each change straight to the sync)",
      ),
    ),
  },
  (o) =>
    Effect.flatMap(
      Effect.promise(() => import("./LocalMode.js")),
      (m) => m.start(o.delivery),
    ),
).pipe(
  Command.withDescription(
    "Run the embedded stack in the foreground; print the export lines for a second shell; Ctrl-C stops it.",
  ),
)

/** `docket local start` */
export const local = Command.make("local").pipe(
  Command.withDescription("The embedded local stack (DynamoDB Local + S3 emulator)."),
  Command.withSubcommands([localStart]),
)

/** `docket demo` */
export const demo = Command.make(
  "demo",
  {
    documents: Options.integer("documents").pipe(Options.withDefault(2000), Options.withDescription("Corpus size")),
    customers: Options.integer("customers").pipe(Options.withDefault(50)),
  },
  (o) =>
    Effect.flatMap(
      Effect.promise(() => import("./Demo.js")),
      (m) => m.run(o),
    ),
).pipe(
  Command.withDescription(
    "Start a private stack, write a generated corpus through Docket, query it, show fallback and event sync, reconcile, report.",
  ),
)

/** The `docket` command. */
export const docket = GlobalOptions.root.pipe(
  Command.withDescription(
    "A DynamoDB cache and index in front of the S3 bucket of change and announcement documents. Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 drift (reconcile).",
  ),
  Command.withSubcommands([put, get, del, query, backfill, reconcile, heal, table, doctor, local, demo]),
)

/** The runnable CLI: `(argv) => Effect`. */
export const run = Command.run(docket, { name: "docket", version: "0.1.0" })

/**
 * The options every `docket` command accepts, declared once on the root
 * command (`docket --help` lists them once; `docket put --help` shows what
 * `put` takes). A subcommand reads them by yielding {@link root}, which
 * @effect/cli provides to every subcommand's handler.
 *
 * They may be written anywhere on the command line (`docket put FILE
 * --dry-run` as well as `docket --dry-run put FILE`): {@link hoist} moves them
 * in front of the subcommand before @effect/cli parses.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Option from "effect/Option"

/** Output formats. */
export type Format = "table" | "json" | "ndjson"

const text = (name: string, env: string, description: string) =>
  Options.text(name).pipe(Options.optional, Options.withDescription(`${description} (env ${env})`))

/** The global options, as the root command's `Options` record. */
export const options = {
  table: text("table", "DOCKET_TABLE", "DynamoDB table name; default docket"),
  bucket: text("bucket", "DOCKET_BUCKET", "S3 bucket holding the documents"),
  prefix: text("prefix", "DOCKET_PREFIX", "Key prefix of the documents, e.g. docs/; default empty"),
  region: text("region", "AWS_REGION", "AWS region; default us-east-1"),
  dynamodbEndpoint: text("dynamodb-endpoint", "DOCKET_DYNAMODB_ENDPOINT", "DynamoDB endpoint URL (DynamoDB Local)"),
  s3Endpoint: text("s3-endpoint", "DOCKET_S3_ENDPOINT", "S3 endpoint URL (an emulator); implies path-style"),
  rps: Options.integer("rps").pipe(
    Options.optional,
    Options.withDescription("DynamoDB requests per second for this process (env DOCKET_RPS); default 1000"),
  ),
  ttlDays: Options.integer("ttl-days").pipe(
    Options.optional,
    Options.withDescription("Cache retention in days from a document's time (env DOCKET_TTL_DAYS); default 365"),
  ),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("Log what mutations would do and change nothing (env DOCKET_DRY_RUN=true)"),
  ),
  noCache: Options.boolean("no-cache").pipe(
    Options.withDescription("Work from S3 alone, bypassing DynamoDB (env DOCKET_CACHE=off)"),
  ),
  logFormat: Options.choice("log-format", ["human", "pretty", "json"]).pipe(
    Options.optional,
    Options.withDescription(
      "Log lines on stderr: human (concise; pretty is the same) on a terminal, json lines otherwise (env DOCKET_LOG_FORMAT)",
    ),
  ),
  format: Options.choice("format", ["table", "json", "ndjson"]).pipe(
    Options.withDefault("table" as const),
    Options.withDescription("Result format on stdout"),
  ),
  local: Options.boolean("local").pipe(
    Options.withDescription("Connect to the stack a running `docket local start` recorded in its state file"),
  ),
  metrics: Options.choice("metrics", ["emf", "cloudwatch"]).pipe(
    Options.optional,
    Options.withDescription("Export metrics at the end: emf (Embedded Metric Format on stderr) or cloudwatch"),
  ),
} as const

/** Parsed global options. */
export interface Globals {
  readonly table: Option.Option<string>
  readonly bucket: Option.Option<string>
  readonly prefix: Option.Option<string>
  readonly region: Option.Option<string>
  readonly dynamodbEndpoint: Option.Option<string>
  readonly s3Endpoint: Option.Option<string>
  readonly rps: Option.Option<number>
  readonly ttlDays: Option.Option<number>
  readonly dryRun: boolean
  readonly noCache: boolean
  readonly logFormat: Option.Option<"human" | "pretty" | "json">
  readonly format: Format
  readonly local: boolean
  readonly metrics: Option.Option<"emf" | "cloudwatch">
}

/**
 * The root command with the global options and no handler of its own: `Cli`
 * adds the description and the subcommands. Yielding it inside a subcommand's
 * handler gives the {@link Globals}.
 */
export const root = Command.make("docket", options)

/** The flags given, as the environment variables they override. */
export const flagEnvironment = (globals: Globals): Record<string, string> => {
  const env: Record<string, string> = {}
  const set = (name: string, value: Option.Option<string | number>) => {
    if (Option.isSome(value)) env[name] = String(value.value)
  }
  set("DOCKET_TABLE", globals.table)
  set("DOCKET_BUCKET", globals.bucket)
  set("DOCKET_PREFIX", globals.prefix)
  set("AWS_REGION", globals.region)
  set("DOCKET_DYNAMODB_ENDPOINT", globals.dynamodbEndpoint)
  set("DOCKET_S3_ENDPOINT", globals.s3Endpoint)
  set("DOCKET_RPS", globals.rps)
  set("DOCKET_TTL_DAYS", globals.ttlDays)
  if (globals.dryRun) env.DOCKET_DRY_RUN = "true"
  if (globals.noCache) env.DOCKET_CACHE = "off"
  return env
}

/** `--name` of each global option, and whether it takes a value (`--table NAME`) or is a flag (`--dry-run`). */
export const names: ReadonlyMap<string, { readonly takesValue: boolean }> = new Map(
  Object.values<Options.Options<unknown>>(options).flatMap((option) =>
    Option.match(Options.getIdentifier(option), {
      onNone: () => [],
      onSome: (name) => [[name, { takesValue: !Options.isBool(option) }] as const],
    }),
  ),
)

/**
 * Moves the global options found anywhere in `args` (the arguments after the
 * program name) to the front, each as one `--name=value` word (so that a value
 * that happens to be a command's name, `--table demo`, is never taken for the
 * command). Stops at `--`. Everything else keeps its order.
 */
export const hoist = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const globals: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (arg === "--") {
      rest.push(...args.slice(i))
      break
    }
    const eq = arg.indexOf("=")
    const name = eq > 0 ? arg.slice(0, eq) : arg
    const spec = arg.startsWith("--") ? names.get(name) : undefined
    if (spec === undefined) rest.push(arg)
    else if (!spec.takesValue || eq > 0) globals.push(arg)
    else if (i + 1 < args.length) globals.push(`${name}=${args[++i]}`)
    else globals.push(arg)
  }
  return [...globals, ...rest]
}

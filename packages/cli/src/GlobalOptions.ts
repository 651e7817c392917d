/**
 * The options every `docket` command accepts, and how they become Docket's
 * configuration: a flag overrides the stack recorded by `docket local start`
 * (with `--local`), which overrides the environment (DESIGN section 10).
 *
 * @since 0.1.0
 */
import * as Options from "@effect/cli/Options"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "./CliError.js"
import * as LocalState from "./LocalState.js"

/**
 * The log level given with @effect/cli's built-in `--log-level` (which takes
 * precedence over `DOCKET_LOG_LEVEL`), if any.
 */
export const logLevelFlag = (argv: ReadonlyArray<string> = process.argv): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (arg === "--log-level") return argv[i + 1]
    if (arg.startsWith("--log-level=")) return arg.slice("--log-level=".length)
  }
  return undefined
}

/** Output formats. */
export type Format = "table" | "json" | "ndjson"

const text = (name: string, env: string, description: string) =>
  Options.text(name).pipe(Options.optional, Options.withDescription(`${description} (env ${env})`))

/** The global options, as an `Options` record spread into every command. */
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

/**
 * The whole environment Docket reads for a command: flags, then the local
 * stack's variables (with `--local`), then the process environment. Fails when
 * `--local` is given and no stack is running.
 */
export const environment = (globals: Globals): Effect.Effect<Record<string, string>, CliError> =>
  Effect.gen(function* () {
    const fromProcess = Object.fromEntries(
      Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    )
    if (fromProcess.DOCKET_LOG_LEVEL === undefined) fromProcess.DOCKET_LOG_LEVEL = "warning"
    let fromLocal: Record<string, string> = {}
    if (globals.local) {
      const found = LocalState.read()
      if (found._tag !== "Running") {
        return yield* new CliError({
          reason: "Failure",
          message:
            found._tag === "NoStateFile"
              ? `--local: no local stack is running (no state file at ${found.file}). Start one in another shell with \`docket local start\` (or \`npx docket local start\`), then run this command again.`
              : `--local: the local stack recorded in ${found.file} (pid ${found.pid}) is not running any more. Start it again with \`docket local start\`.`,
        })
      }
      fromLocal = { ...found.state.environment }
    }
    return { ...fromProcess, ...fromLocal, ...flagEnvironment(globals) }
  })

/** A `ConfigProvider` over an environment map (names as in the process environment). */
export const configProvider = (env: Record<string, string>): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromMap(new Map(Object.entries(env)))

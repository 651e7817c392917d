/**
 * Docket's configuration, read from the environment through `Config`
 * (DESIGN section 10). Every variable is documented in docs/configuration.md.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"

/** Docket's settings. */
export interface Settings {
  /** `DOCKET_TABLE`: the DynamoDB table. */
  readonly table: string
  /** `DOCKET_BUCKET`: the S3 bucket that is the source of truth. */
  readonly bucket: string
  /** `DOCKET_PREFIX`: key prefix of the documents (default empty; include a trailing `/`). */
  readonly prefix: string
  /** `AWS_REGION`. */
  readonly region: string
  /** `DOCKET_DYNAMODB_ENDPOINT`: a DynamoDB endpoint other than AWS's (DynamoDB Local). */
  readonly dynamodbEndpoint: Option.Option<string>
  /** `DOCKET_S3_ENDPOINT`: an S3 endpoint other than AWS's (the emulator); implies path-style. */
  readonly s3Endpoint: Option.Option<string>
  /** `DOCKET_RPS`: DynamoDB requests per second this process may make (token bucket rate). */
  readonly rps: number
  /** `DOCKET_BURST`: token bucket size (default: `rps`). */
  readonly burst: number
  /** `DOCKET_TTL_DAYS`: retention window counted from a document's indexing time. */
  readonly ttlDays: number
  /** `DOCKET_CACHE`: `on` (default) or `off` (S3 alone, same API). */
  readonly cacheEnabled: boolean
  /** `DOCKET_DRY_RUN`: log what mutations would do and change nothing. */
  readonly dryRun: boolean
  /** `DOCKET_LOG_LEVEL`: `debug`, `info` (default), `warning`, `error`, `none`. */
  readonly logLevel: LogLevel.LogLevel
  /** `DOCKET_MAX_ATTEMPTS`: attempts per AWS call for retryable failures (default 5). */
  readonly maxAttempts: number
  /**
   * `DOCKET_ATTEMPT_TIMEOUT` (milliseconds, default 30000): longest wait for one AWS
   * call attempt's answer, DynamoDB and S3 alike; the request is aborted and the
   * attempt retried as a `Timeout` (a hung connection never hangs an operation).
   */
  readonly attemptTimeoutMillis: number
  /**
   * `DOCKET_WRITE_WAIT` (milliseconds, default 20000, longer than the 15 s lease so a dead writer's intent is resolved rather than waited out): how long a write waits, with
   * backoff, for another writer's live intent on the same document before it
   * fails with a `WriteConflictError`. 0 fails at once.
   */
  readonly writeWaitMillis: number
  /**
   * `DOCKET_S3_CONDITIONAL_WRITES`: `on` (default) sends `If-Match` /
   * `If-None-Match` with S3 puts and deletes; `off` for an S3-compatible store
   * that rejects them.
   */
  readonly s3ConditionalWrites: boolean
  /**
   * `DOCKET_CONSUMED_CAPACITY`: `on` asks DynamoDB for the capacity each request
   * consumed and logs it (`consumedCapacity` on the cache's log lines); `off`
   * (default) does not ask: the table's CloudWatch metrics carry its consumption.
   */
  readonly consumedCapacity: boolean
}

const logLevels = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None,
} as const

const logLevel = Config.literal(...(Object.keys(logLevels) as Array<keyof typeof logLevels>))("DOCKET_LOG_LEVEL").pipe(
  Config.withDefault("info" as const),
  Config.map((name): LogLevel.LogLevel => logLevels[name]),
)

const positive = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a positive number`, validation: (n) => Number.isFinite(n) && n > 0 }),
  )

/** The `Config` that reads {@link Settings} from the environment. */
export const config: Config.Config<Settings> = Config.all({
  table: Config.string("DOCKET_TABLE").pipe(Config.withDefault("docket")),
  bucket: Config.string("DOCKET_BUCKET"),
  prefix: Config.string("DOCKET_PREFIX").pipe(Config.withDefault("")),
  region: Config.string("AWS_REGION").pipe(
    Config.orElse(() => Config.string("AWS_DEFAULT_REGION")),
    Config.withDefault("us-east-1"),
  ),
  dynamodbEndpoint: Config.option(Config.string("DOCKET_DYNAMODB_ENDPOINT")),
  s3Endpoint: Config.option(Config.string("DOCKET_S3_ENDPOINT")),
  rps: positive("DOCKET_RPS", 1000),
  burst: Config.option(positive("DOCKET_BURST", 1)),
  ttlDays: positive("DOCKET_TTL_DAYS", 365),
  cacheEnabled: Config.literal(
    "on",
    "off",
  )("DOCKET_CACHE").pipe(
    Config.withDefault("on" as const),
    Config.map((v) => v === "on"),
  ),
  dryRun: Config.boolean("DOCKET_DRY_RUN").pipe(Config.withDefault(false)),
  logLevel,
  maxAttempts: Config.integer("DOCKET_MAX_ATTEMPTS").pipe(
    Config.withDefault(5),
    Config.validate({ message: "DOCKET_MAX_ATTEMPTS must be at least 1", validation: (n) => n >= 1 }),
  ),
  attemptTimeoutMillis: Config.integer("DOCKET_ATTEMPT_TIMEOUT").pipe(
    Config.withDefault(30_000),
    Config.validate({
      message: "DOCKET_ATTEMPT_TIMEOUT must be a number of milliseconds, 1 or more",
      validation: (n) => n >= 1,
    }),
  ),
  writeWaitMillis: Config.integer("DOCKET_WRITE_WAIT").pipe(
    Config.withDefault(20_000),
    Config.validate({
      message: "DOCKET_WRITE_WAIT must be a number of milliseconds, 0 or more",
      validation: (n) => n >= 0,
    }),
  ),
  s3ConditionalWrites: Config.literal(
    "on",
    "off",
  )("DOCKET_S3_CONDITIONAL_WRITES").pipe(
    Config.withDefault("on" as const),
    Config.map((v) => v === "on"),
  ),
  consumedCapacity: Config.literal(
    "on",
    "off",
  )("DOCKET_CONSUMED_CAPACITY").pipe(
    Config.withDefault("off" as const),
    Config.map((v) => v === "on"),
  ),
}).pipe(Config.map(({ burst, ...rest }) => ({ ...rest, burst: Option.getOrElse(burst, () => rest.rps) })))

/**
 * The environment variable names Docket reads (the Terraform sets the same).
 * The last two are read by `S3EventSync.optionsConfig`.
 */
export const environmentVariables = [
  "DOCKET_TABLE",
  "DOCKET_BUCKET",
  "DOCKET_PREFIX",
  "AWS_REGION",
  "DOCKET_DYNAMODB_ENDPOINT",
  "DOCKET_S3_ENDPOINT",
  "DOCKET_RPS",
  "DOCKET_BURST",
  "DOCKET_TTL_DAYS",
  "DOCKET_CACHE",
  "DOCKET_DRY_RUN",
  "DOCKET_LOG_LEVEL",
  "DOCKET_MAX_ATTEMPTS",
  "DOCKET_ATTEMPT_TIMEOUT",
  "DOCKET_WRITE_WAIT",
  "DOCKET_S3_CONDITIONAL_WRITES",
  "DOCKET_CONSUMED_CAPACITY",
  "DOCKET_TOMBSTONE_TTL_SECONDS",
  "DOCKET_EVENT_CONCURRENCY",
] as const

/** Docket's settings as a service. */
export class DocketConfig extends Context.Tag("@docket/core/DocketConfig")<DocketConfig, Settings>() {}

/** Settings with defaults for everything but the bucket; for tests and programmatic use. */
export const make = (settings: Partial<Settings> & Pick<Settings, "bucket">): Settings => ({
  table: "docket",
  prefix: "",
  region: "us-east-1",
  dynamodbEndpoint: Option.none(),
  s3Endpoint: Option.none(),
  rps: 1000,
  burst: settings.rps ?? 1000,
  ttlDays: 365,
  cacheEnabled: true,
  dryRun: false,
  logLevel: LogLevel.Info,
  maxAttempts: 5,
  attemptTimeoutMillis: 30_000,
  writeWaitMillis: 20_000,
  s3ConditionalWrites: true,
  consumedCapacity: false,
  ...settings,
})

/** Provides fixed settings. */
export const layer = (settings: Settings): Layer.Layer<DocketConfig> => Layer.succeed(DocketConfig, settings)

/** Provides settings read from the environment. */
export const layerConfig: Layer.Layer<DocketConfig, import("effect/ConfigError").ConfigError> = Layer.effect(
  DocketConfig,
  config,
)

/**
 * Checks that a deployment matches what Docket expects, as plain Effects (the
 * CLI's `docket doctor` prints them; an application or a pipeline can run them
 * too): the configuration, the credentials, that DynamoDB and S3 answer, the
 * table against {@link Table.definition} (keys, indexes, projections, TTL,
 * billing), the bucket's event delivery (to the function, a queue, or
 * EventBridge), the function's environment against the settings, and recent
 * data in the metric namespace.
 *
 * Every check ends with `pass`, `fail` (with the details that differ) or `skip`
 * (nothing to check against: no function named, no CloudWatch on a local
 * stack). {@link run} never fails: an error is a failed check, named.
 *
 * @since 0.1.0
 */
import { CloudWatchClient, type CloudWatchClientConfig, ListMetricsCommand } from "@aws-sdk/client-cloudwatch"
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ListTablesCommand,
} from "@aws-sdk/client-dynamodb"
import { GetFunctionConfigurationCommand, LambdaClient, type LambdaClientConfig } from "@aws-sdk/client-lambda"
import {
  GetBucketNotificationConfigurationCommand,
  HeadBucketCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as DocketConfig from "./DocketConfig.js"
import * as Expect from "./internal/doctor.js"

/** How a check ended. */
export type Status = "pass" | "fail" | "skip"

/** One line of the checklist. */
export interface Check {
  /** `configuration`, `credentials`, `dynamodb`, `s3`, `table`, `delivery`, `function`, `metrics`. */
  readonly name: string
  readonly status: Status
  /** One line for people. */
  readonly summary: string
  /** What differs, one item each (empty when it passed). */
  readonly details: ReadonlyArray<string>
  readonly durationMs: number
}

/** What to check beyond the settings. */
export interface Options {
  readonly settings: DocketConfig.Settings
  /** The sync Lambda (name or ARN): its environment is compared, and the bucket must notify it (unless `queue`). */
  readonly functionName?: string
  /** The SQS queue ARN the bucket notifies instead of the function. */
  readonly queueArn?: string
  /** Namespace of Docket's metrics (default `Docket`). */
  readonly metricsNamespace?: string
  /** SDK client settings beyond the settings (credentials, endpoints of emulators). */
  readonly clients?: {
    readonly dynamodb?: DynamoDBClientConfig
    readonly s3?: S3ClientConfig
    readonly lambda?: LambdaClientConfig
    readonly cloudwatch?: CloudWatchClientConfig
  }
}

/** Whether every check passed or was skipped. */
export const allPassed = (checks: ReadonlyArray<Check>): boolean => checks.every((c) => c.status !== "fail")

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error)

/** Runs `body` as a named check, timed; a failure of `body` is a failed check. */
const check = (
  name: string,
  body: Effect.Effect<
    { readonly status: Status; readonly summary: string; readonly details?: ReadonlyArray<string> },
    unknown
  >,
): Effect.Effect<Check> =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const result = yield* body.pipe(
      Effect.catchAllCause((cause) =>
        Effect.succeed({
          status: "fail" as const,
          summary: "could not check",
          details: [Cause.squash(cause)].map(errorText),
        }),
      ),
    )
    const durationMs = (yield* Clock.currentTimeMillis) - start
    return { name, details: [], ...result, durationMs }
  }).pipe(Effect.withSpan(`Doctor.${name}`, { captureStackTrace: false }))

const send = <A>(what: string, f: (signal: AbortSignal) => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (error) => new Error(`${what}: ${errorText(error)}`) })

const region = (settings: DocketConfig.Settings) => ({ region: settings.region })

/** What a probe answers: `check` times it and turns its failure into a failed check. */
type Finding = { readonly status: Status; readonly summary: string; readonly details?: ReadonlyArray<string> }

/** The DynamoDB and S3 clients every run uses (two attempts each: a doctor reports, it does not insist). */
interface Clients {
  readonly dynamodb: DynamoDBClient
  readonly s3: S3Client
}

const openClients = (options: Options): Clients => {
  const s = options.settings
  const dynamodb = new DynamoDBClient({
    ...region(s),
    ...Option.match(s.dynamodbEndpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
    maxAttempts: 2,
    ...options.clients?.dynamodb,
  })
  const s3 = new S3Client({
    ...region(s),
    ...Option.match(s.s3Endpoint, {
      onNone: () => ({}),
      onSome: (endpoint) => ({ endpoint, forcePathStyle: true }),
    }),
    maxAttempts: 2,
    ...options.clients?.s3,
  })
  return { dynamodb, s3 }
}

const closeClients = ({ dynamodb, s3 }: Clients) =>
  Effect.sync(() => {
    dynamodb.destroy()
    s3.destroy()
  })

/** The credentials the SDK resolves, masked. */
const probeCredentials = (dynamodb: DynamoDBClient): Effect.Effect<Finding, Error> =>
  Effect.map(
    send("resolving credentials", () => dynamodb.config.credentials()),
    (credentials) => ({
      status: "pass" as const,
      summary: `access key ${Expect.maskKey(credentials.accessKeyId)}${credentials.sessionToken !== undefined ? " (session)" : ""}${credentials.expiration !== undefined ? `, expires ${credentials.expiration.toISOString()}` : ""}`,
    }),
  )

/** DynamoDB answers at all (ListTables of one). */
const probeDynamoDB = (dynamodb: DynamoDBClient, s: DocketConfig.Settings): Effect.Effect<Finding, Error> =>
  Effect.map(
    send("DynamoDB ListTables", (abortSignal) => dynamodb.send(new ListTablesCommand({ Limit: 1 }), { abortSignal })),
    () => ({
      status: "pass" as const,
      summary: `DynamoDB answers at ${Option.getOrElse(s.dynamodbEndpoint, () => `dynamodb.${s.region}.amazonaws.com`)}`,
    }),
  )

/** The bucket is there and readable (HeadBucket). */
const probeS3 = (s3: S3Client, s: DocketConfig.Settings): Effect.Effect<Finding, Error> =>
  Effect.map(
    send(`S3 HeadBucket ${s.bucket}`, (abortSignal) =>
      s3.send(new HeadBucketCommand({ Bucket: s.bucket }), { abortSignal }),
    ),
    () => ({ status: "pass" as const, summary: `bucket ${s.bucket} is there and readable` }),
  )

/** The table against `Table.definition` and its TTL (skipped with the cache off). */
const probeTable = (dynamodb: DynamoDBClient, s: DocketConfig.Settings): Effect.Effect<Finding, Error> =>
  s.cacheEnabled
    ? Effect.gen(function* () {
        const table = yield* send(`DynamoDB DescribeTable ${s.table}`, (abortSignal) =>
          dynamodb.send(new DescribeTableCommand({ TableName: s.table }), { abortSignal }),
        )
        const ttl = yield* send(`DynamoDB DescribeTimeToLive ${s.table}`, (abortSignal) =>
          dynamodb.send(new DescribeTimeToLiveCommand({ TableName: s.table }), { abortSignal }),
        )
        return Expect.table(s.table, table.Table ?? {}, ttl.TimeToLiveDescription ?? {})
      })
    : Effect.succeed({
        status: "skip" as const,
        summary: "the cache is off (DOCKET_CACHE=off): no table needed",
      })

/** The bucket's notifications reach the function or queue named, under the document prefix. */
const probeDelivery = (s3: S3Client, options: Options): Effect.Effect<Finding, Error> => {
  const s = options.settings
  return Effect.map(
    send(`S3 GetBucketNotificationConfiguration ${s.bucket}`, (abortSignal) =>
      s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: s.bucket }), { abortSignal }),
    ),
    (notification) =>
      Expect.delivery(notification, {
        prefix: s.prefix,
        ...(options.functionName !== undefined ? { functionName: options.functionName } : {}),
        ...(options.queueArn !== undefined ? { queueArn: options.queueArn } : {}),
      }),
  )
}

/** The named function's environment against these settings (skipped without `--function`). */
const probeFunction = (options: Options): Effect.Effect<Finding, Error> => {
  const s = options.settings
  return options.functionName === undefined
    ? Effect.succeed({
        status: "skip" as const,
        summary: "no function named (--function): environment not compared",
      })
    : Effect.acquireUseRelease(
        Effect.sync(() => new LambdaClient({ ...region(s), maxAttempts: 2, ...options.clients?.lambda })),
        (lambda) =>
          Effect.map(
            send(`Lambda GetFunctionConfiguration ${options.functionName}`, (abortSignal) =>
              lambda.send(new GetFunctionConfigurationCommand({ FunctionName: options.functionName }), {
                abortSignal,
              }),
            ),
            (fn) =>
              Expect.environment(
                s,
                fn.Environment?.Variables ?? {},
                fn.FunctionName ?? options.functionName ?? "",
                DocketConfig.environmentVariables,
              ),
          ),
        (lambda) => Effect.sync(() => lambda.destroy()),
      )
}

/** Docket's metrics were published recently (skipped on a local stack without a CloudWatch endpoint). */
const probeMetrics = (options: Options): Effect.Effect<Finding, Error> => {
  const s = options.settings
  const local = Option.isSome(s.dynamodbEndpoint) || Option.isSome(s.s3Endpoint)
  const namespace = options.metricsNamespace ?? "Docket"
  return local && options.clients?.cloudwatch?.endpoint === undefined
    ? Effect.succeed({ status: "skip" as const, summary: "local stack: there is no CloudWatch to ask" })
    : Effect.acquireUseRelease(
        Effect.sync(() => new CloudWatchClient({ ...region(s), maxAttempts: 2, ...options.clients?.cloudwatch })),
        (cloudwatch) =>
          Effect.map(
            send(`CloudWatch ListMetrics ${namespace}`, (abortSignal) =>
              cloudwatch.send(new ListMetricsCommand({ Namespace: namespace, RecentlyActive: "PT3H" }), {
                abortSignal,
              }),
            ),
            (listed) => Expect.metrics(namespace, s.table, listed.Metrics ?? []),
          ),
        (cloudwatch) => Effect.sync(() => cloudwatch.destroy()),
      )
}

/** Runs every check, in order; checks that need an unreachable service are still run (and say why they fail). */
export const run = (options: Options): Effect.Effect<ReadonlyArray<Check>> =>
  Effect.acquireUseRelease(
    Effect.sync(() => openClients(options)),
    ({ dynamodb, s3 }) => {
      const s = options.settings
      const probes: ReadonlyArray<readonly [string, Effect.Effect<Finding, unknown>]> = [
        ["configuration", Effect.succeed(Expect.configuration(s))],
        ["credentials", probeCredentials(dynamodb)],
        ["dynamodb", probeDynamoDB(dynamodb, s)],
        ["s3", probeS3(s3, s)],
        ["table", probeTable(dynamodb, s)],
        ["delivery", probeDelivery(s3, options)],
        ["function", probeFunction(options)],
        ["metrics", probeMetrics(options)],
      ]
      return Effect.forEach(probes, ([name, probe]) => check(name, probe))
    },
    closeClients,
  ).pipe(Effect.withSpan("Doctor.run", { captureStackTrace: false }))

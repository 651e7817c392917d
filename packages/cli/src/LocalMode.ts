/**
 * `docket local start`: the embedded stack in the foreground. Creates the table
 * and bucket, runs S3 event sync in-process on the emulator's notifications
 * the way the recommended deployment does (`--delivery sqs`, the default: a
 * queue in the emulator with a dead-letter queue, polled like Lambda's event
 * source mapping, see `@docket/local/SqsDelivery`) or straight to the sync
 * (`--delivery direct`, like a direct bucket notification), prints the `export` lines
 * a second shell needs, records them in the state file that `--local` reads,
 * and on SIGINT/SIGTERM removes the state file and stops the stack (no java
 * process is left behind).
 *
 * Loaded only when the command runs (it brings the local stack along).
 *
 * @since 0.1.0
 */
import * as DocketConfig from "@docket/core/DocketConfig"
import * as S3EventSync from "@docket/core/S3EventSync"
import * as LocalStack from "@docket/local/LocalStack"
import * as Notifications from "@docket/local/Notifications"
import * as SqsDelivery from "@docket/local/SqsDelivery"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { CliError } from "./CliError.js"
import * as Environment from "./Environment.js"
import * as GlobalOptions from "./GlobalOptions.js"
import * as LocalState from "./LocalState.js"
import * as Output from "./Output.js"
import * as Services from "./Services.js"

/** Fails when another `docket local start` is running. */
const checkNoneRunning = (file: string) =>
  Effect.flatMap(LocalState.read(file), (existing) =>
    existing._tag === "Running"
      ? Effect.fail(
          new CliError({
            reason: "Failure",
            message: `A local stack is already running (pid ${existing.state.pid}, state file ${file}). Stop it first (Ctrl-C in its shell).`,
          }),
        )
      : Effect.void,
  )

/** Creates the table and bucket on the stack. */
const createTableAndBucket = (stack: LocalStack.Stack, table: string, bucket: string) =>
  Effect.tryPromise({
    try: () => Promise.all([stack.createTable(table), stack.createBucket(bucket)]),
    catch: (cause) =>
      new CliError({ reason: "Failure", message: `Creating the table or bucket failed: ${String(cause)}`, cause }),
  })

/** Records the stack in the state file for as long as the scope lasts. */
const recordState = (file: string, state: LocalState.State) =>
  Effect.acquireRelease(
    LocalState.write(state, file).pipe(
      Effect.mapError(
        (cause) => new CliError({ reason: "Failure", message: `Writing ${file} failed: ${cause.message}`, cause }),
      ),
    ),
    () => LocalState.remove(file),
  )

const banner = (stack: LocalStack.Stack, table: string, bucket: string, file: string, ms: number, delivery: Delivery) =>
  [
    `docket local stack up in ${ms} ms: table ${table}, bucket ${bucket}.`,
    `DynamoDB Local ${stack.dynamodbEndpoint} (listens on all interfaces), S3 emulator ${stack.s3Endpoint}.`,
    delivery === "sqs"
      ? "S3 event sync runs here: every object change is a message on the SQS queue " +
        `${bucket}-events (dead-letter queue ${bucket}-events-dlq after 5 receives) in the emulator, at ${stack.s3Endpoint}.`
      : "S3 event sync runs here on every object change (--delivery direct).",
    `State file: ${file}`,
    "In another shell: paste the export lines above, or add --local to any docket command.",
    "Ctrl-C stops the stack (data is in memory and goes with it).",
  ].join("\n")

/** How S3 changes reach the in-process sync. */
export type Delivery = "sqs" | "direct"

/** The Lambda's SQS answer: the messages whose records failed come back, then go to the DLQ. */
const deliverThroughSqs = (stack: LocalStack.Stack, bucket: string) =>
  Effect.gen(function* () {
    // A setting that does not parse (DOCKET_EVENT_CONCURRENCY=0) fails the command as a ConfigError (exit 2).
    const options = yield* S3EventSync.config
    const runtime = yield* Effect.runtime<S3EventSync.Requirements>()
    yield* SqsDelivery.scoped(stack, bucket, (event) =>
      Runtime.runPromise(runtime)(
        S3EventSync.processEvent(event, options).pipe(
          Effect.map((result) => ({
            batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })),
          })),
        ),
      ),
    ).pipe(Effect.mapError((cause) => new CliError({ reason: "Failure", message: cause.message, cause })))
  })

/** Event sync on the emulator's object changes, until interrupted. */
const syncForever = (stack: LocalStack.Stack, bucket: string, delivery: Delivery) =>
  Effect.gen(function* () {
    if (delivery === "direct") {
      yield* S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))
    } else yield* deliverThroughSqs(stack, bucket)
    yield* Effect.never
  }).pipe(Effect.scoped)

/** Runs `docket local start`. */
export const start = (delivery: Delivery) =>
  Effect.scoped(
    Effect.gen(function* () {
      const globals = yield* GlobalOptions.root
      const processEnv = Environment.processEnvironment()
      const table = Option.getOrElse(globals.table, () => processEnv.DOCKET_LOCAL_TABLE ?? "docket")
      const bucket = Option.getOrElse(globals.bucket, () => processEnv.DOCKET_LOCAL_BUCKET ?? "docket")
      const file = LocalState.path(processEnv)
      yield* checkNoneRunning(file)
      const started = yield* Clock.currentTimeMillis
      const stack = yield* LocalStack.acquire()
      yield* createTableAndBucket(stack, table, bucket)
      const environment = stack.environment({ table, bucket })
      yield* recordState(file, {
        pid: process.pid,
        startedAt: new Date(started).toISOString(),
        table,
        bucket,
        environment,
      })
      const env = { ...processEnv, ...environment, ...GlobalOptions.flagEnvironment(globals) }
      const logLevel = yield* Environment.settingsFrom(Environment.providerOf(env)).pipe(
        Effect.map((configured) => configured.logLevel),
        Effect.orElseSucceed(() => LogLevel.Info),
      )
      const settings = DocketConfig.make({
        table,
        bucket,
        region: stack.region,
        dynamodbEndpoint: Option.some(stack.dynamodbEndpoint),
        s3Endpoint: Option.some(stack.s3Endpoint),
        prefix: Option.getOrElse(globals.prefix, () => ""),
        logLevel,
      })
      yield* Output.line(LocalState.exportLines(environment))
      yield* Output.note(banner(stack, table, bucket, file, (yield* Clock.currentTimeMillis) - started, delivery))
      yield* syncForever(stack, bucket, delivery).pipe(
        Effect.provide(Services.layer),
        Effect.provideService(Environment.Environment, Environment.make(globals, env, settings)),
        Effect.onInterrupt(() => Output.note("stopping the local stack")),
      )
    }),
  )

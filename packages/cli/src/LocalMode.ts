/**
 * `docket local start`: the embedded stack in the foreground. Creates the table
 * and bucket, runs S3 event sync in-process on the emulator's notifications
 * (as a deployed bucket notification + Lambda would), prints the `export` lines
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
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
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

const banner = (stack: LocalStack.Stack, table: string, bucket: string, file: string, ms: number) =>
  [
    `docket local stack up in ${ms} ms: table ${table}, bucket ${bucket}.`,
    `DynamoDB Local ${stack.dynamodbEndpoint} (listens on all interfaces), S3 emulator ${stack.s3Endpoint}.`,
    `S3 event sync runs here on every object change. State file: ${file}`,
    "In another shell: paste the export lines above, or add --local to any docket command.",
    "Ctrl-C stops the stack (data is in memory and goes with it).",
  ].join("\n")

/** Event sync on the emulator's object changes, until interrupted. */
const syncForever = (stack: LocalStack.Stack, bucket: string) =>
  Effect.gen(function* () {
    yield* S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))
    yield* Effect.never
  }).pipe(Effect.scoped)

/** Runs `docket local start`. */
export const start = Effect.scoped(
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
    yield* Output.note(banner(stack, table, bucket, file, (yield* Clock.currentTimeMillis) - started))
    yield* syncForever(stack, bucket).pipe(
      Effect.provide(Services.layer),
      Effect.provideService(Environment.Environment, Environment.make(globals, env, settings)),
      Effect.onInterrupt(() => Output.note("stopping the local stack")),
    )
  }),
)

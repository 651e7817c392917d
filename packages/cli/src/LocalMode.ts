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
 * @since 0.1.0
 */
import * as DocketConfig from "@docket/core/DocketConfig"
import * as S3EventSync from "@docket/core/S3EventSync"
import * as LocalStack from "@docket/local/LocalStack"
import * as Notifications from "@docket/local/Notifications"
import * as SqsDelivery from "@docket/local/SqsDelivery"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { CliError } from "./CliError.js"
import * as GlobalOptions from "./GlobalOptions.js"
import { loggerLayer } from "./Handlers.js"
import * as LocalState from "./LocalState.js"
import * as Output from "./Output.js"
import * as Services from "./Services.js"

/** Starts a stack and keeps it until interrupted. Exposed for `docket demo` and tests. */
export const acquireStack = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => LocalStack.start(),
    catch: (cause) =>
      new CliError({
        reason: "Failure",
        message: `The local stack did not start: ${(cause as Error).message}`,
        cause,
      }),
  }),
  (stack) => Effect.promise(() => stack.stop()),
)

/** Runs `docket local start`. */
export const start = (o: GlobalOptions.Globals & { readonly delivery: "sqs" | "direct" }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const table = Option.getOrElse(o.table, () => process.env.DOCKET_LOCAL_TABLE ?? "docket")
      const bucket = Option.getOrElse(o.bucket, () => process.env.DOCKET_LOCAL_BUCKET ?? "docket")
      const existing = LocalState.read()
      if (existing._tag === "Running") {
        return yield* new CliError({
          reason: "Failure",
          message: `A local stack is already running (pid ${existing.state.pid}, state file ${LocalState.path()}). Stop it first (Ctrl-C in its shell).`,
        })
      }
      const started = Date.now()
      const stack = yield* acquireStack
      yield* Effect.tryPromise({
        try: () => Promise.all([stack.createTable(table), stack.createBucket(bucket)]),
        catch: (cause) =>
          new CliError({ reason: "Failure", message: `Creating the table or bucket failed: ${String(cause)}`, cause }),
      })
      const environment = stack.environment({ table, bucket })
      // The in-process event sync's SDK clients read credentials from the process environment.
      process.env.AWS_ACCESS_KEY_ID = LocalStack.credentials.accessKeyId
      process.env.AWS_SECRET_ACCESS_KEY = LocalStack.credentials.secretAccessKey
      const file = LocalState.path()
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          LocalState.write({ pid: process.pid, startedAt: new Date().toISOString(), table, bucket, environment }, file),
        ),
        () => Effect.sync(() => LocalState.remove(file)),
      )
      const settings = DocketConfig.make({
        table,
        bucket,
        region: stack.region,
        dynamodbEndpoint: Option.some(stack.dynamodbEndpoint),
        s3Endpoint: Option.some(stack.s3Endpoint),
        prefix: Option.getOrElse(o.prefix, () => ""),
        logLevel: (yield* Effect.either(Services.settingsFrom)).pipe((e) =>
          e._tag === "Right" ? e.right.logLevel : DocketConfig.make({ bucket }).logLevel,
        ),
      })
      yield* Output.line(LocalState.exportLines(environment))
      yield* Output.note(
        [
          `docket local stack up in ${Date.now() - started} ms: table ${table}, bucket ${bucket}.`,
          `DynamoDB Local ${stack.dynamodbEndpoint} (listens on all interfaces), S3 emulator ${stack.s3Endpoint}.`,
          o.delivery === "sqs"
            ? "S3 event sync runs here: every object change is a message on the SQS queue " +
              `${bucket}-events (dead-letter queue ${bucket}-events-dlq after 5 receives) in the emulator, at ${stack.s3Endpoint}.`
            : "S3 event sync runs here on every object change (--delivery direct).",
          `State file: ${file}`,
          "In another shell: paste the export lines above, or add --local to any docket command.",
          "Ctrl-C stops the stack (data is in memory and goes with it).",
        ].join("\n"),
      )
      const logFormat = Option.getOrElse(o.logFormat, () => (process.stderr.isTTY ? "pretty" : "json"))
      yield* Effect.gen(function* () {
        if (o.delivery === "direct") {
          yield* S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))
        } else {
          // The Lambda's SQS answer: the messages whose records failed come back, then go to the DLQ.
          const options = yield* S3EventSync.config.pipe(Effect.orDie)
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
        }
        yield* Effect.never
      }).pipe(
        Effect.scoped,
        Effect.provide(Services.layer(settings)),
        Effect.provide(loggerLayer(settings.logLevel, logFormat)),
        Effect.onInterrupt(() => Output.note("stopping the local stack")),
      )
    }),
  ).pipe(Effect.withConfigProvider(GlobalOptions.configProvider(GlobalOptions.flagEnvironment(o))))

/**
 * `docket local start` and `docket demo`: the commands that run their own
 * embedded stack. Their bodies (`LocalMode`, `Demo`) are imported when the
 * command runs, so no other command loads the local stack.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"

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
      Effect.promise(() => import("../LocalMode.js")),
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
      Effect.promise(() => import("../Demo.js")),
      (m) => m.run(o),
    ),
).pipe(
  Command.withDescription(
    "Start a private stack, write a generated corpus through Docket, query it, show fallback and event sync, reconcile, report.",
  ),
)

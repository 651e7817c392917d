/**
 * Wiring WriteThrough and FallbackReader into an Effect application that has
 * services of its own. The app ("ChangeBoard") approves changes: it reads a
 * change through the FallbackReader, bumps its version, and writes it through.
 *
 * Docket's layer is built from settings (here: the embedded local stack, started
 * by a scoped layer of its own); the app's own service depends only on
 * Docket's workflow tags, so tests can give it `Docket.layerMemory()` instead.
 *
 * Run: npx tsx --conditions=@docket/source examples/write-through-app.ts   (needs Java 17 for DynamoDB Local)
 */
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as OperationLog from "@docket/core/OperationLog"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as LocalStack from "@docket/local/LocalStack"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** The app's own error. */
class ChangeNotFound extends Data.TaggedError("ChangeNotFound")<{ readonly id: string }> {}

/** The app's own service: approving changes. */
class ChangeBoard extends Context.Tag("example/ChangeBoard")<
  ChangeBoard,
  {
    readonly approve: (
      id: string,
      by: string,
    ) => Effect.Effect<WriteThrough.WriteResult, ChangeNotFound | WriteThrough.WriteError | FallbackReader.ReadError>
  }
>() {}

/** Depends on Docket's workflows only, never on DynamoDB or S3. */
const ChangeBoardLive = Layer.effect(
  ChangeBoard,
  Effect.gen(function* () {
    const reader = yield* FallbackReader.FallbackReader
    const writeThrough = yield* WriteThrough.WriteThrough
    return {
      approve: (id, by) =>
        Effect.gen(function* () {
          const found = yield* reader.read("change", id)
          if (Option.isNone(found)) return yield* new ChangeNotFound({ id })
          const change = found.value.document
          const now = new Date().toISOString()
          const approved: Document.AnyDocument = {
            ...change,
            version: change.version + 1,
            status: "approved",
            approvals: [...((change.approvals as ReadonlyArray<unknown>) ?? []), { by, at: now }],
            updatedAt: now,
          }
          return yield* writeThrough.write(approved)
        }),
    }
  }),
)

/** Docket on the embedded stack: a scoped layer that starts it, and Docket's layer from its endpoints. */
const DocketLocal = Layer.unwrapScoped(
  Effect.gen(function* () {
    const stack = yield* LocalStack.LocalStack
    yield* Effect.promise(() => Promise.all([stack.createTable("example"), stack.createBucket("example")]))
    return Docket.layer(
      DocketConfig.make({
        table: "example",
        bucket: "example",
        region: stack.region,
        dynamodbEndpoint: Option.some(stack.dynamodbEndpoint),
        s3Endpoint: Option.some(stack.s3Endpoint),
      }),
      {
        dynamodbClient: { credentials: stack.credentials },
        store: { clientConfig: { credentials: stack.credentials } },
      },
    )
  }),
).pipe(Layer.provide(LocalStack.layer()))

const program = Effect.gen(function* () {
  const writeThrough = yield* WriteThrough.WriteThrough
  const board = yield* ChangeBoard
  const change = {
    kind: "change",
    id: "CHG-2026-000123",
    version: 1,
    title: "Rotate TLS certificates",
    customers: ["acme", "globex"],
    status: "submitted",
    schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
    createdAt: "2026-11-20T09:00:00Z",
    updatedAt: "2026-11-20T09:00:00Z",
  }
  const first = yield* writeThrough.write(change)
  yield* Effect.log(`first write: ${first._tag}`)
  const again = yield* writeThrough.write(change)
  yield* Effect.log(`same document again: ${again._tag}`)
  const approved = yield* board.approve(change.id, "alice")
  yield* Effect.log(`approval: ${approved._tag} (version ${"version" in approved ? approved.version : "?"})`)
  const stale = yield* Effect.either(writeThrough.write(change))
  if (stale._tag === "Left") yield* Effect.log(`writing version 1 again: ${stale.left._tag}`)
  const missing = yield* Effect.either(board.approve("CHG-does-not-exist", "bob"))
  if (missing._tag === "Left") yield* Effect.log(`approving a missing change: ${missing.left._tag}`)
})

const MainLive = ChangeBoardLive.pipe(Layer.provideMerge(DocketLocal))

Effect.runPromise(program.pipe(Effect.provide(MainLive), Effect.provide(OperationLog.jsonLogger))).catch((error) => {
  console.error(error)
  process.exitCode = 1
})

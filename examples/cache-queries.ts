/**
 * Composing the DocumentCache into a small Effect program: a "customer
 * dashboard" service that depends only on the DocumentCache port, run against
 * the DynamoDB backend on the embedded local stack, with a shared rate limit and
 * JSON logs. Shows writes (the version rule), the three queries as Streams,
 * cursor pagination and the typed errors.
 *
 * Run: npx tsx --conditions=@docket/source examples/cache-queries.ts
 */
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DynamoDB from "@docket/core/DocumentCache/DynamoDB"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as OperationLog from "@docket/core/OperationLog"
import * as RateLimit from "@docket/core/RateLimit"
import * as LocalStack from "@docket/local/LocalStack"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** The application's own service: it knows the cache port, not DynamoDB. */
class Dashboard extends Context.Tag("example/Dashboard")<
  Dashboard,
  {
    /** A customer's documents in the next `days` days, one page at a time. */
    readonly upcoming: (
      customer: string,
      days: number,
      cursor?: string,
    ) => Effect.Effect<
      DocumentCache.Page,
      DocumentCache.CacheError | DocumentCache.InvalidQueryError | DocumentCache.CursorError
    >
    /** How many changes of a status fall in a month. */
    readonly countByStatus: (
      status: string,
      month: string,
    ) => Effect.Effect<number, DocumentCache.CacheError | DocumentCache.InvalidQueryError>
  }
>() {}

const DashboardLive = Layer.effect(
  Dashboard,
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    return {
      upcoming: (customer, days, cursor) =>
        Effect.gen(function* () {
          const from = new Date("2026-11-30T00:00:00Z")
          const to = new Date(from.getTime() + days * 86_400_000)
          return yield* cache.page(
            { target: { _tag: "Customer", customer }, from: from.toISOString(), to: to.toISOString() },
            cursor === undefined ? { limit: 2 } : { limit: 2, cursor },
          )
        }),
      countByStatus: (status, month) => {
        const from = new Date(`${month}-01T00:00:00Z`)
        const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1))
        return Stream.runCount(
          cache.query({
            target: { _tag: "Status", status },
            kind: "change",
            from: from.toISOString(),
            to: to.toISOString(),
          }),
        )
      },
    }
  }),
)

/** The DynamoDB cache on the embedded stack, with one rate limit for the process. */
const CacheLocal = Layer.unwrapScoped(
  Effect.gen(function* () {
    const stack = yield* LocalStack.LocalStack
    yield* Effect.promise(() => stack.createTable("cache-example"))
    return DynamoDB.layer({
      table: "cache-example",
      retentionDays: 365,
      client: stack.clientConfig.dynamodb,
    })
  }),
).pipe(
  Layer.provide(
    Layer.mergeAll(LocalStack.layer(), DocumentKind.layerDefault, RateLimit.layer({ rps: 200, burst: 50 })),
  ),
)

const change = (n: number, customers: ReadonlyArray<string>, start: string, status: string): Document.AnyDocument => ({
  kind: "change",
  id: `CHG-2026-${String(n).padStart(6, "0")}`,
  version: 1,
  title: `Maintenance window ${n}`,
  customers: [...customers],
  status,
  schedule: { start, end: start },
  createdAt: "2026-11-01T09:00:00Z",
  updatedAt: "2026-11-01T09:00:00Z",
})

const program = Effect.gen(function* () {
  const cache = yield* DocumentCache.DocumentCache
  const dashboard = yield* Dashboard
  const documents = [
    change(1, ["acme", "globex"], "2026-11-30T22:00:00Z", "scheduled"),
    change(2, ["acme"], "2026-12-01T08:00:00Z", "approved"),
    change(3, ["acme"], "2026-12-02T08:00:00Z", "scheduled"),
    change(4, ["globex"], "2026-12-03T08:00:00Z", "scheduled"),
    change(5, ["acme"], "2026-12-04T08:00:00Z", "scheduled"),
  ]
  for (const doc of documents) yield* cache.put(doc, { s3Key: `changes/${doc.id}.json` })

  // The version rule: the same document again is a no-op; an older version is refused.
  const again = yield* cache.put(documents[0] as Document.AnyDocument, { s3Key: "changes/CHG-2026-000001.json" })
  yield* Effect.log(`same document again: ${again._tag}`)
  yield* cache.put({ ...(documents[0] as Document.AnyDocument), version: 2, title: "Moved" }, { s3Key: "x" })
  const stale = yield* Effect.flip(cache.put(documents[0] as Document.AnyDocument, { s3Key: "x" }))
  yield* Effect.log(`version 1 after version 2: ${stale.message}`)

  // Pages of two, resumed with the opaque cursor.
  let cursor: string | undefined
  do {
    const page = yield* dashboard.upcoming("acme", 7, cursor)
    yield* Effect.log(`acme page: ${page.items.map((s) => `${s.id}@${s.time}`).join(", ")}`)
    cursor = Option.getOrUndefined(page.cursor)
  } while (cursor !== undefined)

  yield* Effect.log(`scheduled changes in December: ${yield* dashboard.countByStatus("scheduled", "2026-12")}`)

  // The whole time range as a Stream.
  const all = yield* Stream.runCollect(
    cache.query({ target: { _tag: "Time" }, from: "2026-11-01T00:00:00Z", to: "2027-01-01T00:00:00Z" }),
  )
  yield* Effect.log(
    `time range: ${Chunk.toArray(all)
      .map((s) => s.id)
      .join(", ")}`,
  )

  // Typed errors, never crashes.
  const badCursor = yield* Effect.flip(dashboard.upcoming("acme", 7, "not-a-cursor"))
  yield* Effect.log(`bad cursor: ${badCursor._tag}: ${badCursor.message}`)
  const badStatus = yield* Effect.flip(dashboard.countByStatus("published", "2026-12"))
  yield* Effect.log(`bad status: ${badStatus._tag}: ${badStatus.message}`)
})

Effect.runPromise(
  program.pipe(
    Effect.provide(DashboardLive.pipe(Layer.provideMerge(CacheLocal))),
    Effect.provide(OperationLog.jsonLogger),
  ),
).catch((error) => {
  console.error(error)
  process.exitCode = 1
})

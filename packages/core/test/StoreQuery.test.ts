/**
 * Queries with the cache off are answered from S3: the same items, in the same
 * order, paged with the same cursors as the cache's answer on the same corpus,
 * on the memory layers and on DynamoDB Local + the S3 emulator.
 */
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Arbitraries from "../src/Arbitraries.js"
import * as Docket from "../src/Docket.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as StoreQuery from "../src/StoreQuery.js"
import * as WriteThrough from "../src/WriteThrough.js"
import * as LocalDocket from "./support/LocalDocket.js"

const quiet = Logger.minimumLogLevel(LogLevel.None)
const customers = ["acme", "globex", "initech"]
const minTime = new Date("2099-01-01T00:00:00Z")
const maxTime = new Date("2099-05-01T00:00:00Z")
const span = maxTime.getTime() - minTime.getTime()

/** A corpus: documents, each maybe updated (a new version with another status) and maybe deleted. */
const corpus = fc.array(
  fc.record({
    document: Arbitraries.document({ customers, minTime, maxTime, maxTextLength: 12 }),
    update: fc.option(fc.constantFrom("draft", "scheduled", "cancelled"), { nil: undefined }),
    deleted: fc.boolean(),
  }),
  { maxLength: 14 },
)

const query = fc.record({
  target: fc.oneof(
    fc.constant<DocumentCache.QueryTarget>({ _tag: "Time" }),
    fc.constantFrom(...customers).map((customer): DocumentCache.QueryTarget => ({ _tag: "Customer", customer })),
    fc
      .constantFrom("draft", "scheduled", "approved", "published", "cancelled")
      .map((status): DocumentCache.QueryTarget => ({ _tag: "Status", status })),
  ),
  from: fc.double({ min: -0.1, max: 0.9, noNaN: true }),
  width: fc.double({ min: 0.05, max: 1.2, noNaN: true }),
  kind: fc.option(fc.constantFrom("change", "announcement"), { nil: undefined }),
  limit: fc.integer({ min: 1, max: 5 }),
})

const toQuery = (q: QuerySpec): DocumentCache.Query => {
  const status = q.target._tag === "Status" ? q.target.status : undefined
  // A status only some kinds have, with the other kind, is an invalid query: leave the kind out then.
  const kind =
    q.kind === undefined ||
    (status === "approved" && q.kind !== "change") ||
    (status === "published" && q.kind !== "announcement")
      ? undefined
      : q.kind
  const from = minTime.getTime() + q.from * span
  return {
    target: q.target,
    from: new Date(from).toISOString(),
    to: new Date(from + q.width * span).toISOString(),
    ...(kind !== undefined ? { kind } : {}),
  }
}
type QuerySpec = typeof query extends fc.Arbitrary<infer A> ? A : never

/** Writes the corpus through Docket, with ids unique to this run. */
const writeCorpus = (run: string, specs: ReadonlyArray<CorpusSpec>) =>
  Effect.gen(function* () {
    const writer = yield* WriteThrough.WriteThrough
    for (const [i, spec] of specs.entries()) {
      const prefix = spec.document.kind === "change" ? "CHG" : "ANN"
      const doc = { ...spec.document, id: `${prefix}-${run}-${i}` } as Document.AnyDocument
      yield* writer.write(doc)
      if (spec.update !== undefined) yield* writer.write({ ...doc, version: doc.version + 1, status: spec.update })
      if (spec.deleted) yield* writer.delete(doc.kind, doc.id)
    }
  })
type CorpusSpec = typeof corpus extends fc.Arbitrary<ReadonlyArray<infer A>> ? A : never

/** Every page of a query, following cursors. */
const allPages = (
  next: (cursor: string | undefined) => Effect.Effect<DocumentCache.Page, unknown, any>,
): Effect.Effect<{ items: Array<Document.Summary>; cursors: Array<string> }, unknown, any> =>
  Effect.gen(function* () {
    const items: Array<Document.Summary> = []
    const cursors: Array<string> = []
    let cursor: string | undefined
    for (;;) {
      const page = yield* next(cursor)
      items.push(...page.items)
      cursor = Option.getOrUndefined(page.cursor)
      if (cursor === undefined) return { items, cursors }
      cursors.push(cursor)
    }
  })

/** The invariant: S3's answer equals the cache's, page by page, and their cursors are interchangeable. */
const sameAnswer = (q: DocumentCache.Query, limit: number) =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    const fromCache = yield* allPages((cursor) => cache.page(q, { limit, ...(cursor ? { cursor } : {}) }))
    const fromS3 = yield* allPages((cursor) => StoreQuery.page(q, { limit, ...(cursor ? { cursor } : {}) }))
    expect(fromS3.items).toStrictEqual(fromCache.items)
    expect(fromS3.cursors).toStrictEqual(fromCache.cursors)
    // A cursor the cache issued resumes on S3 exactly where the cache would.
    const first = fromCache.cursors[0]
    if (first !== undefined) {
      const resumed = yield* StoreQuery.page(q, { limit, cursor: first })
      const expected = yield* cache.page(q, { limit, cursor: first })
      expect(resumed.items).toStrictEqual(expected.items)
      expect(resumed.complete).toBe(true)
    }
    return fromS3.items.length
  })

let runs = 0

describe("StoreQuery", () => {
  it.effect.prop(
    "with the cache off, a query answered from S3 equals the cache's answer on the same corpus (memory)",
    [corpus, fc.array(query, { minLength: 1, maxLength: 4 })],
    ([specs, queries]) =>
      Effect.gen(function* () {
        yield* writeCorpus(`m${runs++}`, specs)
        for (const q of queries) yield* sameAnswer(toQuery(q), q.limit)
      }).pipe(Effect.provide(Layer.merge(Docket.layerMemory({ ttlDays: 3650 }), quiet))),
    { fastCheck: { numRuns: 30 } },
  )

  it.effect("says what it cost and that it is slower; bad cursors and queries are typed errors", () =>
    Effect.gen(function* () {
      const docs = fc.sample(Arbitraries.document({ customers, minTime, maxTime, maxTextLength: 8 }), {
        numRuns: 5,
        seed: 7,
      })
      yield* writeCorpus(
        "cost",
        docs.map((document) => ({ document, update: undefined, deleted: false })),
      )
      const q = { target: { _tag: "Time" as const }, from: minTime.toISOString(), to: maxTime.toISOString() }
      const page = yield* StoreQuery.page(q, { limit: 2 })
      expect(page.source).toBe("s3")
      expect(page.requests).toStrictEqual({ listed: 5, heads: 5, gets: 5 })
      expect(page.items.length).toBe(2)
      // Docket's object metadata filters without reading bodies: a query no document matches reads none.
      const none = yield* StoreQuery.page({ ...q, target: { _tag: "Customer", customer: "nobody" } }, { limit: 2 })
      expect(none.requests).toStrictEqual({ listed: 5, heads: 5, gets: 0 })
      expect(none.items).toStrictEqual([])
      const foreign = yield* Effect.flip(
        StoreQuery.page({ ...q, to: "2099-04-01T00:00:00Z" }, { limit: 2, cursor: Option.getOrThrow(page.cursor) }),
      )
      expect(foreign._tag).toBe("CursorError")
      const bad = yield* Effect.flip(StoreQuery.page({ ...q, from: q.to }, { limit: 2 }))
      expect(bad._tag).toBe("InvalidQueryError")
      // Documents older than the cache's retention are still in S3: the cache-off answer has them.
      const store = yield* DocumentStore.DocumentStore
      const old = { ...docs[0]!, id: `${docs[0]!.kind === "change" ? "CHG" : "ANN"}-old` } as Document.AnyDocument
      yield* store.put(old)
      const cache = yield* DocumentCache.DocumentCache
      const everything = { ...q, from: "1990-01-01T00:00:00Z" }
      expect((yield* StoreQuery.page(everything, { limit: 100 })).items.length).toBe(6)
      expect((yield* cache.page(everything, { limit: 100 })).items.length).toBe(5)
    }).pipe(Effect.provide(Layer.merge(Docket.layerMemory(), quiet))),
  )
})

const local = Layer.unwrapEffect(
  Effect.promise(() => Testing.isolated("store-query")).pipe(
    Effect.map((isolated) => LocalDocket.layer(isolated, { ttlDays: 3650, rps: 100_000 })),
  ),
)

describe("StoreQuery on DynamoDB Local and the S3 emulator", () => {
  it.layer(Layer.merge(local, quiet), { timeout: "180 seconds" })((it) => {
    it.effect.prop(
      "with the cache off, a query answered from S3 equals the cache's answer on the same corpus (local stack)",
      [corpus, fc.array(query, { minLength: 2, maxLength: 4 })],
      ([specs, queries]) =>
        Effect.gen(function* () {
          yield* writeCorpus(`l${runs++}`, specs)
          for (const q of queries) yield* sameAnswer(toQuery(q), q.limit)
        }),
      { fastCheck: { numRuns: 5 } },
    )
  })
})

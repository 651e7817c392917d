/**
 * DESIGN invariant 4: query results equal a brute-force filter over the same
 * documents (half-open range, expired items excluded, no duplicates, ordered by
 * time then kind then id), for the stream and for pages resumed by cursor, on
 * the memory layer and on DynamoDB Local.
 */
import { createTable } from "@docket/local/LocalStack"
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Arbitraries from "../src/Arbitraries.js"
import type * as Document from "../src/Document.js"
import * as DynamoDB from "../src/DocumentCache/DynamoDB.js"
import * as MemoryCache from "../src/DocumentCache.js"
import { DocumentCache, type Query } from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as RateLimit from "../src/RateLimit.js"

const registry = DocumentKind.defaultRegistry
const retentionDays = 30
const customers = ["acme", "globex", "initech", "umbrella"]
const min = Date.parse("2026-04-01T00:00:00Z")
const max = Date.parse("2026-09-01T00:00:00Z")
// Few anchors, so that ties, boundaries exactly at from/to and month edges are common.
const anchors = [
  "2026-04-30T23:59:59.999Z",
  "2026-05-01T00:00:00.000Z",
  "2026-05-16T12:00:00.000Z",
  "2026-06-01T00:00:00.000Z",
  "2026-06-15T12:00:00.000Z",
  "2026-07-01T00:00:00.000Z",
]
const instant = fc.oneof(
  fc.constantFrom(...anchors),
  fc.integer({ min, max: max - 1 }).map((n) => new Date(n).toISOString()),
)

const withTime = (doc: Document.Change | Document.Announcement, time: string): Document.AnyDocument =>
  doc.kind === "change" ? { ...doc, schedule: { start: time, end: time } } : { ...doc, publishAt: time }

const corpus = (maxLength: number) =>
  fc.uniqueArray(
    fc
      .tuple(Arbitraries.document({ customers, maxCustomers: 3, maxTextLength: 12 }), instant)
      .map(([doc, time]) => withTime(doc, time)),
    { maxLength, selector: (doc) => `${doc.kind}/${doc.id}` },
  )

const statuses = ["draft", "scheduled", "cancelled", "approved", "published", "completed"]
const query: fc.Arbitrary<Query> = fc
  .record({
    target: fc.oneof(
      fc.constant({ _tag: "Time" as const }),
      fc.constantFrom(...customers).map((customer) => ({ _tag: "Customer" as const, customer })),
      fc.constantFrom(...statuses).map((status) => ({ _tag: "Status" as const, status })),
    ),
    a: instant,
    b: instant,
    kind: fc.option(fc.constantFrom("change", "announcement"), { nil: undefined }),
  })
  .map(({ target, a, b, kind }) => {
    const [from, to] = a === b ? [a, new Date(Date.parse(a) + 1).toISOString()] : a < b ? [a, b] : [b, a]
    return kind === undefined ? { target, from, to } : { target, from, to, kind }
  })

const nowArb = fc.integer({ min: Date.parse("2026-05-01T00:00:00Z"), max: Date.parse("2026-07-15T00:00:00Z") })

/** The brute force: filter and sort every summary, independently of the cache. */
const bruteForce = (docs: ReadonlyArray<Document.AnyDocument>, q: Query, now: number) => {
  const from = Date.parse(q.from)
  const to = Date.parse(q.to)
  return docs
    .map((doc) => registry.summarize(doc))
    .filter((s) => {
      const t = Date.parse(s.time)
      const live = (Math.floor(t / 1000) + retentionDays * 86_400) * 1000 > now
      const target =
        q.target._tag === "Time" ||
        (q.target._tag === "Customer" && s.customers.includes(q.target.customer)) ||
        (q.target._tag === "Status" && s.status === q.target.status)
      return t >= from && t < to && live && target && (q.kind === undefined || s.kind === q.kind)
    })
    .sort((x, y) =>
      x.time !== y.time
        ? x.time < y.time
          ? -1
          : 1
        : x.kind !== y.kind
          ? x.kind < y.kind
            ? -1
            : 1
          : x.id < y.id
            ? -1
            : 1,
    )
}

const statusUnknownFor = (q: Query) =>
  q.target._tag === "Status" &&
  q.kind !== undefined &&
  !(registry.get(q.kind)?.statuses ?? []).includes(q.target.status)

const check = (docs: ReadonlyArray<Document.AnyDocument>, q: Query, now: number, limit: number) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(now)
    const cache = yield* DocumentCache
    for (const doc of docs) yield* cache.put(doc, { s3Key: `${doc.kind}s/${doc.id}.json` })
    if (statusUnknownFor(q)) {
      const error = yield* Effect.flip(cache.page(q, { limit }))
      expect(error).toMatchObject({ _tag: "InvalidQueryError", reason: "UnknownStatus" })
      return
    }
    const expected = bruteForce(docs, q, now)
    const streamed = Chunk.toArray(yield* Stream.runCollect(cache.query(q)))
    expect(streamed).toStrictEqual(expected)
    const paged: Array<Document.Summary> = []
    let cursor: string | undefined
    for (;;) {
      const page = yield* cache.page(q, cursor === undefined ? { limit } : { limit, cursor })
      expect(page.items.length).toBeLessThanOrEqual(limit)
      paged.push(...page.items)
      cursor = Option.getOrUndefined(page.cursor)
      if (cursor === undefined) break
      expect(page.items.length).toBe(limit)
    }
    expect(paged).toStrictEqual(expected)
  })

const base = Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)

describe("DocumentCache queries", () => {
  it.effect.prop(
    "memory: query and cursor-resumed pages equal the brute-force filter (invariant 4)",
    [corpus(40), query, nowArb, fc.integer({ min: 1, max: 7 })],
    ([docs, q, now, limit]) =>
      check(docs, q, now, limit).pipe(
        Effect.provide(MemoryCache.layerMemory({ retentionDays }).pipe(Layer.provide(base))),
      ),
    { fastCheck: { numRuns: 200 } },
  )

  it.effect.prop(
    "DynamoDB Local: query and cursor-resumed pages equal the brute-force filter (invariant 4)",
    [corpus(15), query, nowArb, fc.integer({ min: 1, max: 5 })],
    ([docs, q, now, limit]) =>
      Effect.gen(function* () {
        const table = `docket-prop-${crypto.randomUUID().slice(0, 8)}`
        const config = Testing.clientConfig()
        yield* Effect.promise(() => createTable(config, table))
        yield* check(docs, q, now, limit).pipe(
          Effect.provide(
            DynamoDB.layer({ table, retentionDays, client: config.dynamodb, bucketConcurrency: 2 }).pipe(
              Layer.provide(base),
            ),
          ),
        )
      }),
    { fastCheck: { numRuns: 25 }, timeout: 120_000 },
  )
})

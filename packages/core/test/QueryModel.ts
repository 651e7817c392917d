/**
 * The model behind DESIGN invariant 4's properties (DocumentCache.properties*.test.ts):
 * a corpus and query generator, the brute-force filter, and the check that runs a
 * query as a stream and as cursor-resumed pages against whichever cache is provided.
 */
import { expect } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Arbitraries from "../src/Arbitraries.js"
import * as CacheEntry from "../src/CacheEntry.js"
import type * as Document from "../src/Document.js"
import { DocumentCache, type Query } from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"

const registry = DocumentKind.defaultRegistry
export const retentionDays = 30
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

export const corpus = (maxLength: number) =>
  fc.uniqueArray(
    fc
      .tuple(Arbitraries.document({ customers, maxCustomers: 3, maxTextLength: 12 }), instant)
      .map(([doc, time]) => withTime(doc, time)),
    { maxLength, selector: (doc) => `${doc.kind}/${doc.id}` },
  )

/**
 * A corpus for status queries over shards: every document gets one of the two statuses
 * both kinds have, so each status has many documents spread over kinds and shards.
 */
export const statusCorpus = (maxLength: number) =>
  fc
    .tuple(corpus(maxLength), fc.infiniteStream(fc.constantFrom("scheduled", "cancelled")))
    .map(([docs, picks]) => docs.map((doc) => ({ ...doc, status: picks.next().value }) as Document.AnyDocument))

/** Status index shard counts (1 is the unsharded layout). */
export const statusShards = fc.constantFrom(1, 2, 3, 8)

const statuses = ["draft", "scheduled", "cancelled", "approved", "published", "completed"]
export const query: fc.Arbitrary<Query> = fc
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

/** Status queries only (over {@link statusCorpus}'s two statuses, sometimes limited to one kind). */
export const statusQuery: fc.Arbitrary<Query> = fc
  .record({
    status: fc.constantFrom("scheduled", "cancelled"),
    a: instant,
    b: instant,
    kind: fc.option(fc.constantFrom("change", "announcement"), { nil: undefined }),
  })
  .map(({ status, a, b, kind }) => {
    const [from, to] = a === b ? [a, new Date(Date.parse(a) + 1).toISOString()] : a < b ? [a, b] : [b, a]
    const target = { _tag: "Status" as const, status }
    return kind === undefined ? { target, from, to } : { target, from, to, kind }
  })

const nowArb = fc.integer({ min: Date.parse("2026-05-01T00:00:00Z"), max: Date.parse("2026-07-15T00:00:00Z") })

/**
 * When the query runs: a random instant, or (as often) exactly at one document's
 * `expiresAt`, or one millisecond either side of it. A random clock almost never lands
 * on a boundary, so without these an entry alive at exactly `expiresAt` would pass.
 */
export const now: fc.Arbitrary<Now> = fc.oneof(
  nowArb.map((at) => ({ _tag: "At" as const, at })),
  fc.record({ _tag: fc.constant("ExpiryOf" as const), index: fc.nat(), delta: fc.constantFrom(-1, 0, 1) }),
)

/** An instant, possibly relative to a document's expiry (see {@link now}). */
export type Now =
  | { readonly _tag: "At"; readonly at: number }
  | { readonly _tag: "ExpiryOf"; readonly index: number; readonly delta: number }

/** The instant `choice` stands for over `docs`. */
export const resolveNow = (docs: ReadonlyArray<Document.AnyDocument>, choice: Now): number => {
  if (choice._tag === "At" || docs.length === 0)
    return choice._tag === "At" ? choice.at : Date.parse("2026-06-01T00:00:00Z")
  const doc = docs[choice.index % docs.length] as Document.AnyDocument
  return CacheEntry.expiresAt(registry.summarize(doc).time, retentionDays) * 1000 + choice.delta
}

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

export const check = (docs: ReadonlyArray<Document.AnyDocument>, q: Query, now: number, limit: number) =>
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
    // Bounded too: a stream whose inner paging repeats a page yields more than expected and fails.
    const streamed = Chunk.toArray(yield* Stream.runCollect(Stream.take(cache.query(q), expected.length + 1)))
    expect(streamed).toStrictEqual(expected)
    const paged: Array<Document.Summary> = []
    let cursor: string | undefined
    // Bounded: a resume that repeats or skips back must fail here, not loop until a timeout.
    const maxPages = Math.ceil(expected.length / limit) + 1
    for (let pages = 1; ; pages++) {
      expect(pages, `more than ${maxPages} pages for ${expected.length} items at limit ${limit}`).toBeLessThanOrEqual(
        maxPages,
      )
      const page = yield* cache.page(q, cursor === undefined ? { limit } : { limit, cursor })
      expect(page.items.length).toBeLessThanOrEqual(limit)
      paged.push(...page.items)
      cursor = Option.getOrUndefined(page.cursor)
      if (cursor === undefined) break
      expect(page.items.length).toBe(limit)
    }
    expect(paged).toStrictEqual(expected)
  })

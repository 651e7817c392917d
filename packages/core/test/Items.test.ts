import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Arbitraries from "../src/Arbitraries.js"
import * as CacheEntry from "../src/CacheEntry.js"
import * as Document from "../src/Document.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as Items from "../src/Items.js"
import * as Table from "../src/Table.js"

const registry = DocumentKind.defaultRegistry

/** DynamoDB attribute values, nested, with strings of any code points (1-4 bytes of UTF-8 each). */
const attributeValue: fc.Arbitrary<AttributeValue> = fc.letrec<{ value: AttributeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "binary", maxLength: 40 }).map((S) => ({ S })),
    fc.string({ unit: fc.constantFrom("€", "😀", "ü", "a"), maxLength: 20 }).map((S) => ({ S })),
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).map((n) => ({ N: String(n) })),
    fc.boolean().map((BOOL) => ({ BOOL })),
    fc.array(tie("value"), { maxLength: 4 }).map((L) => ({ L })),
    fc.dictionary(fc.string({ unit: "binary", maxLength: 6 }), tie("value"), { maxKeys: 4 }).map((M) => ({ M })),
  ),
})).value

describe("Items", () => {
  it.prop(
    "document -> items -> document is the identity, with every index attribute set",
    [Arbitraries.document({ maxCustomers: 30, maxTextLength: 500 }), fc.integer({ min: 1, max: 3650 })],
    ([doc, days]) => {
      const summary = registry.summarize(doc)
      const items = Items.toItems(doc, registry, { s3Key: `k/${doc.id}.json`, retentionDays: days, etag: '"e1"' })
      expect(items.pointer).toBe(false)
      const entry = Either.getOrThrow(Items.fromDocumentItem(items.document, registry))
      if (entry._tag !== "Cached") throw new Error("expected a cached entry")
      expect(Document.sameContent(entry.document, doc)).toBe(true)
      expect({ ...entry, document: undefined }).toStrictEqual({
        _tag: "Cached",
        summary,
        document: undefined,
        s3Key: `k/${doc.id}.json`,
        expiresAt: CacheEntry.expiresAt(summary.time, days),
        etag: '"e1"',
      })
      expect(items.document.pk?.S).toBe(`DOC#${doc.kind}#${doc.id}`)
      expect(items.document.sk?.S).toBe("DOC")
      expect(items.document.timePk?.S).toBe(`T#${summary.time.slice(0, 7)}`)
      expect(items.document.timeSk?.S).toBe(`${summary.time}#${doc.kind}#${doc.id}`)
      const shard = Items.statusShard(doc.kind, doc.id, Table.statusShards)
      expect(items.document.statusPk?.S).toBe(`S#${doc.kind}#${summary.status}#${shard}`)
      expect(items.document.statusSk?.S).toBe(`${summary.time}#${doc.id}`)
      expect(items.customers.map((c) => c.sk?.S)).toStrictEqual(summary.customers.map((c) => `CUST#${c}`))
      for (const item of items.customers) {
        expect(item.pk?.S).toBe(items.document.pk?.S)
        expect(item.custSk?.S).toBe(items.document.timeSk?.S)
        expect(Either.getOrThrow(Items.summaryFromItem(item))).toStrictEqual({
          ...summary,
          expiresAt: CacheEntry.expiresAt(summary.time, days),
        })
      }
    },
    { fastCheck: { numRuns: 200 } },
  )

  it.prop(
    "a document's status shard is stable, in range, one of the status's partitions; one shard is the unsharded key",
    [Arbitraries.document({ maxTextLength: 20 }), fc.integer({ min: 1, max: 64 })],
    ([doc, shards]) => {
      const status = registry.summarize(doc).status
      const shard = Items.statusShard(doc.kind, doc.id, shards)
      expect(shard).toBe(Items.statusShard(doc.kind, doc.id, shards))
      expect(shard >= 0 && shard < shards).toBe(true)
      const pk = Items.statusPkOf(doc.kind, status, doc.id, shards)
      expect(Items.statusPartitions(doc.kind, status, shards)).toContain(pk)
      expect(new Set(Items.statusPartitions(doc.kind, status, shards)).size).toBe(shards)
      if (shards === 1) expect(pk).toBe(`S#${doc.kind}#${status}`)
      const items = Items.toItems(doc, registry, { s3Key: "k", retentionDays: 30, statusShards: shards })
      expect(items.document.statusPk?.S).toBe(pk)
    },
    { fastCheck: { numRuns: 200 } },
  )

  it("spreads one status over its shards: no shard holds more than 1.5x its share of 20,000 ids", () => {
    const counts = new Array<number>(Table.statusShards).fill(0)
    for (let i = 0; i < 20_000; i++) {
      const id = `CHG-2026-${String(i).padStart(6, "0")}`
      counts[Items.statusShard("change", id, Table.statusShards)]! += 1
    }
    expect(Math.max(...counts)).toBeLessThan((1.5 * 20_000) / Table.statusShards)
  })

  it.prop(
    "a body over the item limit becomes a pointer with the summary, never a truncated body",
    [Arbitraries.document({ maxTextLength: 50 }), fc.integer({ min: 600, max: 4000 })],
    ([doc, limit]) => {
      const items = Items.toItems(doc, registry, { s3Key: "k", retentionDays: 30, maxItemBytes: limit })
      const withBodySize = Items.itemSize({ ...items.document, body: { S: JSON.stringify(doc) } })
      expect(items.pointer).toBe(withBodySize > limit)
      const entry = Either.getOrThrow(Items.fromDocumentItem(items.document, registry))
      if (entry._tag !== "Cached") throw new Error("expected a cached entry")
      if (items.pointer) {
        expect(items.document.body).toBeUndefined()
        expect(entry.document).toBeUndefined()
      } else {
        expect(Document.sameContent(entry.document, doc)).toBe(true)
      }
      expect(entry.summary).toStrictEqual(registry.summarize(doc))
    },
    { fastCheck: { numRuns: 200 } },
  )

  it.prop(
    "the size bound toItems checks first is never below the size DynamoDB counts (so it cannot let an item over the limit through)",
    [
      Arbitraries.document({ maxTextLength: 300, maxCustomers: 20 }),
      fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), attributeValue, { maxKeys: 6 }),
    ],
    ([doc, extra]) => {
      const items = Items.toItems(doc, registry, { s3Key: "k/ü €/😀", retentionDays: 30, etag: '"e"', sequencer: "0A" })
      for (const item of [items.document, ...items.customers, extra]) {
        expect(Items.itemSizeBound(item)).toBeGreaterThanOrEqual(Items.itemSize(item))
        // Attribute by attribute too: a large item's slack in one attribute must not hide another's shortfall.
        for (const [name, value] of Object.entries(item))
          expect(Items.itemSizeBound({ [name]: value })).toBeGreaterThanOrEqual(Items.itemSize({ [name]: value }))
      }
    },
    { fastCheck: { numRuns: 500 } },
  )

  it("keeps documents near 400 KB whole and turns bigger ones into pointers", () => {
    const base = {
      kind: "change",
      id: "CHG-big",
      version: 1,
      title: "big",
      customers: ["acme"],
      status: "draft",
      schedule: { start: "2026-01-01T00:00:00Z", end: "2026-01-01T01:00:00Z" },
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
    }
    const fits = Items.toItems({ ...base, description: "x".repeat(390_000) }, registry, {
      s3Key: "k",
      retentionDays: 1,
    })
    expect(fits.pointer).toBe(false)
    expect(Items.itemSize(fits.document)).toBeLessThanOrEqual(Items.MaxItemBytes)
    // Multi-byte characters count by their UTF-8 size: 150,000 × 3 bytes is over the limit.
    const over = Items.toItems({ ...base, description: "€".repeat(150_000) }, registry, {
      s3Key: "k",
      retentionDays: 1,
    })
    expect(over.pointer).toBe(true)
    expect(Items.itemSize(over.document)).toBeLessThan(2000)
  })

  it("computes expiresAt from the indexing time plus the retention", () => {
    expect(CacheEntry.expiresAt("2026-01-01T00:00:00.000Z", 30)).toBe(Date.UTC(2026, 0, 31) / 1000)
    expect(CacheEntry.isExpired(100, 100_000)).toBe(true)
    expect(CacheEntry.isExpired(100, 99_999)).toBe(false)
    expect(CacheEntry.isExpired(undefined, Number.MAX_SAFE_INTEGER)).toBe(false)
  })

  it.prop(
    "time buckets cover exactly the months that intersect [from, to)",
    [Arbitraries.instant(), Arbitraries.instant()],
    ([a, b]) => {
      const [from, to] = a < b ? [a, b] : [b, a]
      const buckets = Items.timeBuckets(from, to)
      if (from === to) return
      expect(buckets[0]).toBe(`T#${from.slice(0, 7)}`)
      const lastMonth = new Date(Date.parse(to) - 1).toISOString().slice(0, 7)
      expect(buckets.at(-1)).toBe(`T#${lastMonth}`)
      expect(new Set(buckets).size).toBe(buckets.length)
    },
    { fastCheck: { numRuns: 200 } },
  )

  it.prop(
    "a query result's live summary is summaryFromItem's without expiresAt, none from the expiry second on",
    [Arbitraries.document({ maxCustomers: 5, maxTextLength: 40 }), fc.integer({ min: 1, max: 3650 })],
    ([doc, days]) => {
      const items = Items.toItems(doc, registry, { s3Key: `k/${doc.id}.json`, retentionDays: days })
      for (const item of [items.document, ...items.customers]) {
        const { expiresAt, ...summary } = Either.getOrThrow(Items.summaryFromItem(item))
        const live = Either.getOrThrow(Items.liveSummaryFromItem(item, expiresAt * 1000 - 1))
        expect(live).toStrictEqual(summary)
        expect(Object.keys(live as object)).toStrictEqual([
          "kind",
          "id",
          "version",
          "title",
          "status",
          "customers",
          "time",
        ])
        expect(Either.getOrThrow(Items.liveSummaryFromItem(item, expiresAt * 1000))).toBeUndefined()
      }
    },
    { fastCheck: { numRuns: 100 } },
  )

  it("a query result missing a summary attribute, or with a customer that is not a string, is unreadable", () => {
    const doc = fc.sample(Arbitraries.document(), { numRuns: 1, seed: 3 })[0] as Document.AnyDocument
    const item = Items.toItems(doc, registry, { s3Key: "k", retentionDays: 30 }).document
    expect(Either.isRight(Items.liveSummaryFromItem(item, 0))).toBe(true)
    for (const name of ["kind", "id", "version", "title", "status", "time", "expiresAt", "customers"]) {
      const { [name]: _, ...without } = item
      expect(Either.isLeft(Items.liveSummaryFromItem(without, 0))).toBe(true)
    }
    const bad = Items.liveSummaryFromItem({ ...item, customers: { L: [{ N: "1" }] } }, 0)
    expect(Either.isLeft(bad) && bad.left.detail).toBe("missing summary attributes")
  })

  it("decodes tombstones and rejects items Docket did not write", () => {
    const entry = Either.getOrThrow(
      Items.fromDocumentItem(Items.tombstoneItem("change", "CHG-1", 1000, { sequencer: "0A" }), registry),
    )
    expect(entry).toStrictEqual({ _tag: "Tombstone", kind: "change", id: "CHG-1", expiresAt: 1000, sequencer: "0A" })
    expect(Either.isLeft(Items.fromDocumentItem({ pk: { S: "DOC#change#x" } }, registry))).toBe(true)
  })
})

/**
 * A deterministic, realistic corpus of documents for benchmarks and demos:
 * changes and announcements over a set of customers, spread over a year, with
 * the mix of statuses, sizes and customer counts a real bucket has (most
 * documents concern one to three customers, a few concern dozens).
 *
 * Also fast loaders that put a corpus in place with raw SDK calls (BatchWriteItem
 * for the cache, parallel PutObject for S3), so that loading is not what a
 * benchmark measures.
 *
 * @example
 * ```ts
 * import * as Corpus from "@docket/bench/Corpus"
 * const docs = Corpus.generate({ count: 20_000, customers: 200, seed: 42 })
 * ```
 *
 * @since 0.1.0
 */
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from "@aws-sdk/client-dynamodb"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import type * as Document from "@docket/core/Document"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as S3Key from "@docket/core/S3Key"
import type * as LocalStack from "@docket/local/LocalStack"
import * as Harness from "./Harness.js"

/** Options of {@link generate}. */
export interface Options {
  readonly count: number
  /** Number of customers, named `cust-001`, `cust-002`, ... */
  readonly customers: number
  readonly seed?: number
  /** Indexing times are spread over [start, end) (default: the year 2026). */
  readonly start?: string
  readonly end?: string
}

/** A small, fast, seedable PRNG (mulberry32). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const words =
  "rotate certificates upgrade database cluster patch kernel network switch firewall rules storage array migrate tenant rollout release deploy api gateway cache layer billing service monitoring agents backup policy dns records load balancer failover region capacity quota index rebuild".split(
    " ",
  )
const changeStatuses = ["draft", "submitted", "approved", "scheduled", "in-progress", "completed", "cancelled"] as const
const changeWeights = [5, 5, 15, 25, 5, 40, 5]
const announcementStatuses = ["draft", "scheduled", "published", "archived", "cancelled"] as const
const announcementWeights = [5, 15, 55, 20, 5]
const announcementTypes = ["general", "maintenance", "incident", "security", "finops", "release"] as const

/** The customer codes of a corpus of `n` customers. */
export const customerCodes = (n: number): ReadonlyArray<string> =>
  Array.from({ length: n }, (_, i) => `cust-${String(i + 1).padStart(3, "0")}`)

/** Generates `count` valid documents (about 60% changes, 40% announcements), the same for the same options. */
export const generate = (options: Options): ReadonlyArray<Document.Change | Document.Announcement> => {
  const random = prng(options.seed ?? 42)
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(random() * xs.length)] as A
  const weighted = <A>(xs: ReadonlyArray<A>, weights: ReadonlyArray<number>): A => {
    const total = weights.reduce((a, b) => a + b, 0)
    let r = random() * total
    for (let i = 0; i < xs.length; i++) {
      r -= weights[i] as number
      if (r < 0) return xs[i] as A
    }
    return xs[xs.length - 1] as A
  }
  const sentence = (n: number) => Array.from({ length: n }, () => pick(words)).join(" ")
  const codes = customerCodes(options.customers)
  const start = Date.parse(options.start ?? "2026-01-01T00:00:00Z")
  const end = Date.parse(options.end ?? "2027-01-01T00:00:00Z")
  const iso = (millis: number) => new Date(Math.floor(millis / 60_000) * 60_000).toISOString()
  const customersOf = (): Array<string> => {
    const r = random()
    const n = r < 0.6 ? 1 : r < 0.85 ? 2 : r < 0.97 ? 3 : 10 + Math.floor(random() * 30)
    const chosen = new Set<string>()
    while (chosen.size < Math.min(n, codes.length)) chosen.add(pick(codes))
    return [...chosen]
  }
  const out: Array<Document.Change | Document.Announcement> = []
  for (let i = 0; i < options.count; i++) {
    const time = start + random() * (end - start)
    const created = iso(time - (1 + random() * 20) * 86_400_000)
    const seq = String(i + 1).padStart(6, "0")
    if (random() < 0.6) {
      const hours = 1 + Math.floor(random() * 6)
      out.push({
        kind: "change",
        id: `CHG-2026-${seq}`,
        version: 1 + Math.floor(random() * 4),
        title: `${sentence(3)} (${seq})`,
        description: sentence(40),
        reason: sentence(12),
        customers: customersOf(),
        status: weighted(changeStatuses, changeWeights),
        schedule: { start: iso(time), end: iso(time + hours * 3_600_000) },
        implementationPlan: sentence(60),
        rollbackPlan: sentence(30),
        approvals: [{ by: "cab@example.com", at: created }],
        modifications: [{ at: created, by: "ops@example.com", type: "created" }],
        createdAt: created,
        updatedAt: created,
      } as unknown as Document.Change)
    } else {
      out.push({
        kind: "announcement",
        id: `ANN-2026-${seq}`,
        version: 1 + Math.floor(random() * 3),
        type: pick(announcementTypes),
        title: `${sentence(4)} (${seq})`,
        summary: sentence(20),
        content: sentence(120),
        customers: customersOf(),
        status: weighted(announcementStatuses, announcementWeights),
        publishAt: iso(time),
        links: [{ title: "Status page", url: "https://status.example.com" }],
        createdAt: created,
        updatedAt: created,
      } as unknown as Document.Announcement)
    }
  }
  return out
}

/**
 * Writes a corpus into a Docket table the way the cache stores it (document and
 * customer items), with BatchWriteItem; unprocessed items are retried, never dropped.
 */
export const loadCache = async (
  config: LocalStack.ClientConfig,
  table: string,
  documents: ReadonlyArray<Document.AnyDocument>,
  options: { readonly retentionDays?: number; readonly prefix?: string; readonly concurrency?: number } = {},
): Promise<void> => {
  const client = new DynamoDBClient({ ...config.dynamodb, maxAttempts: 5 })
  const registry = DocumentKind.defaultRegistry
  try {
    const requests: Array<WriteRequest> = documents.flatMap((doc) => {
      const kind = registry.get(doc.kind) as DocumentKind.DocumentKind<any>
      const items = Items.toItems(doc, registry, {
        s3Key: S3Key.forDocument(options.prefix ?? "", kind, doc.id),
        retentionDays: options.retentionDays ?? 3650,
      })
      return [items.document, ...items.customers].map((Item) => ({ PutRequest: { Item } }))
    })
    const batches: Array<Array<WriteRequest>> = []
    for (let i = 0; i < requests.length; i += 25) batches.push(requests.slice(i, i + 25))
    await Harness.pool(batches, options.concurrency ?? 8, async (batch) => {
      let pending = batch
      for (let attempt = 0; pending.length > 0; attempt++) {
        // Bounded: a table that never takes the items fails the run instead of hanging it.
        if (attempt === 30) throw new Error(`loadCache: ${pending.length} items still unprocessed after 30 attempts`)
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)))
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }))
        pending = out.UnprocessedItems?.[table] ?? []
      }
    })
  } finally {
    client.destroy()
  }
}

/** Writes a corpus into a bucket as JSON objects at their Docket keys, in parallel. */
export const loadBucket = async (
  config: LocalStack.ClientConfig,
  bucket: string,
  documents: ReadonlyArray<Document.AnyDocument>,
  options: { readonly prefix?: string; readonly concurrency?: number } = {},
): Promise<void> => {
  const client = new S3Client({ ...config.s3, maxAttempts: 5 })
  const registry = DocumentKind.defaultRegistry
  try {
    await Harness.pool(documents, options.concurrency ?? 32, async (doc) => {
      const kind = registry.get(doc.kind) as DocumentKind.DocumentKind<any>
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: S3Key.forDocument(options.prefix ?? "", kind, doc.id),
          Body: JSON.stringify(doc),
          ContentType: "application/json",
        }),
      )
    })
  } finally {
    client.destroy()
  }
}

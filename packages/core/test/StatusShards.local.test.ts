/**
 * Status index write sharding on the local stack (DESIGN section 6, hot keys): a
 * table written unsharded (the layout before sharding) is migrated by a backfill
 * run that re-indexes every document once; the next run is a plain unchanged
 * re-run again. Requests are counted on the wire by a proxy, never timed.
 */
import * as CountingProxy from "@docket/local/CountingProxy"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Backfill from "../src/Backfill.js"
import type * as Docket from "../src/Docket.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as Table from "../src/Table.js"
import * as Counted from "./support/Counted.js"

const N = 240
const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const change = (i: number): Document.AnyDocument => ({
  kind: "change",
  id: `CHG-shard-${String(i).padStart(5, "0")}`,
  version: 1,
  title: `Sharded change ${i}`,
  customers: ["acme"],
  status: "completed",
  schedule: { start: `2026-11-${String(1 + (i % 28)).padStart(2, "0")}T10:00:00Z`, end: "2026-11-30T00:00:00Z" },
  createdAt: "2026-10-01T00:00:00Z",
  updatedAt: "2026-10-01T00:00:00Z",
})

let proxied: CountingProxy.Around
let unsharded: Layer.Layer<Docket.Services>
let sharded: Layer.Layer<Docket.Services>

beforeAll(async () => {
  const isolated = await Testing.isolated("status-shards")
  proxied = await CountingProxy.around(Testing.endpoints())
  const layerWith = (statusShards: number) => Counted.layer(proxied, isolated, { ttlDays: 36_500 }, { statusShards })
  unsharded = layerWith(1)
  sharded = layerWith(Table.statusShards)
})

afterAll(async () => {
  await proxied?.close()
})

const counted = <A, E>(layer: Layer.Layer<Docket.Services>, self: Effect.Effect<A, E, Docket.Services>) =>
  Effect.suspend(() => Counted.counted(proxied, self).pipe(Effect.provide(layer), Effect.provide(quiet)))

/** Every page of the completed-changes query, resumed by cursor (bounded: a loop that repeats fails). */
const allPages = Effect.gen(function* () {
  const cache = yield* DocumentCache.DocumentCache
  const query = {
    target: { _tag: "Status" as const, status: "completed" },
    kind: "change",
    from: "2026-11-01T00:00:00Z",
    to: "2026-12-01T00:00:00Z",
  }
  const out: Array<string> = []
  let cursor: string | undefined
  for (let pages = 0; pages <= N / 50 + 1; pages++) {
    const page = yield* cache.page(query, cursor === undefined ? { limit: 50 } : { limit: 50, cursor })
    out.push(...page.items.map((s) => `${s.time} ${s.id}`))
    cursor = Option.getOrUndefined(page.cursor)
    if (cursor === undefined) return out
  }
  throw new Error(`more than ${N / 50 + 1} pages for ${N} items`)
})

describe("status index shards", () => {
  it.live(
    `a table indexed unsharded is re-indexed by one backfill run (${N} documents), then re-runs read no body`,
    () =>
      Effect.gen(function* () {
        const docs = Array.from({ length: N }, (_, i) => change(i))
        const expected = docs.map((d) => `${new Date((d as Document.Change).schedule.start).toISOString()} ${d.id}`)
        expected.sort()
        const first = yield* counted(
          unsharded,
          Effect.zipRight(
            Effect.flatMap(DocumentStore.DocumentStore, (store) =>
              Effect.forEach(docs, (d) => store.put(d), { concurrency: 16, discard: true }),
            ),
            Backfill.run({ concurrency: 16 }),
          ),
        )
        expect(first.result).toMatchObject({ listed: N, written: N, failed: 0 })
        expect(yield* counted(unsharded, allPages).pipe(Effect.map((r) => r.result))).toStrictEqual(expected)

        // Readers with shards see only what is indexed in the shards: before the migration, nothing.
        const before = yield* counted(sharded, allPages)
        expect(before.result).toStrictEqual([])
        expect(before.dynamodb.byOperation).toStrictEqual({ Query: Table.statusShards })

        const migrate = yield* counted(sharded, Backfill.run({ concurrency: 16 }))
        expect(migrate.result).toMatchObject({ listed: N, written: N, unchanged: 0, failed: 0, bodiesRead: N })
        expect(migrate.s3.byOperation).toStrictEqual({ ListObjectsV2: 1, GetObject: N })
        // Version-1 documents take the create path: the first transaction (attribute_not_exists) is
        // cancelled and returns the item, the second re-indexes it. No GetItem.
        expect(migrate.dynamodb.byOperation).toStrictEqual({
          BatchGetItem: Math.ceil(N / 100),
          TransactWriteItems: 2 * N,
        })

        const after = yield* counted(sharded, allPages)
        expect(after.result).toStrictEqual(expected)
        const rerun = yield* counted(sharded, Backfill.run({ concurrency: 16 }))
        expect(rerun.result).toMatchObject({ listed: N, written: 0, unchanged: N, bodiesRead: 0 })
        expect(rerun.dynamodb.byOperation).toStrictEqual({ BatchGetItem: Math.ceil(N / 100) })
      }),
    { timeout: 300_000 },
  )
})

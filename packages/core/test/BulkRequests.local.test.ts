/**
 * Request budgets of backfill and reconcile at scale, counted on the wire: a
 * counting HTTP proxy sits in front of DynamoDB Local and the S3 emulator, and
 * the run's clients go through it. Counts, not timings, are asserted.
 */
import * as CountingProxy from "@docket/local/CountingProxy"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Backfill from "../src/Backfill.js"
import type * as Docket from "../src/Docket.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as Reconcile from "../src/Reconcile.js"
import * as Counted from "./support/Counted.js"

const N = 1_050
const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const change = (i: number, version = 1, start = "2026-11-01T10:00:00Z"): Document.AnyDocument => ({
  kind: "change",
  id: `CHG-bulk-${String(i).padStart(6, "0")}`,
  version,
  title: `Bulk change ${i}`,
  customers: [i % 2 === 0 ? "acme" : "globex"],
  status: "completed",
  schedule: { start, end: start },
  createdAt: "2026-10-01T00:00:00Z",
  updatedAt: "2026-10-01T00:00:00Z",
})

let proxied: CountingProxy.Around
let layer: Layer.Layer<Docket.Services>

beforeAll(async () => {
  const isolated = await Testing.isolated("bulk-requests")
  proxied = await CountingProxy.around(Testing.endpoints())
  layer = Counted.layer(proxied, isolated, { ttlDays: 36_500 })
})

afterAll(async () => {
  await proxied?.close()
})

const within = <A, E>(self: Effect.Effect<A, E, Docket.Services>) =>
  Effect.suspend(() => self.pipe(Effect.provide(layer), Effect.provide(quiet)))

const counted = <A, E>(self: Effect.Effect<A, E, Docket.Services>) => within(Counted.counted(proxied, self))

describe("backfill and reconcile request budgets (counted by a proxy)", () => {
  it.live(
    `an unchanged re-run over ${N} documents reads no body and makes one BatchGetItem per 100; reconcile the same`,
    () =>
      Effect.gen(function* () {
        yield* within(
          Effect.flatMap(DocumentStore.DocumentStore, (store) =>
            Effect.forEach(
              Array.from({ length: N }, (_, i) => change(i, 1 + (i % 3))),
              (d) => store.put(d),
              { concurrency: 16 },
            ),
          ),
        )
        const fresh = yield* counted(Backfill.run({ concurrency: 16 }))
        expect(fresh.result).toMatchObject({ listed: N, written: N, failed: 0 })
        // The batch comparison found no item: every put tries its create without a GetItem first.
        expect(fresh.dynamodb.byOperation).toStrictEqual({ BatchGetItem: Math.ceil(N / 100), TransactWriteItems: N })

        const rerun = yield* counted(Backfill.run({ concurrency: 16 }))
        expect(rerun.result).toMatchObject({ listed: N, written: 0, unchanged: N, bodiesRead: 0 })
        expect(rerun.s3.byOperation).toStrictEqual({ ListObjectsV2: Math.ceil(N / 1000) })
        expect(rerun.dynamodb.byOperation).toStrictEqual({ BatchGetItem: Math.ceil(N / 100) })
        expect(rerun.dynamodb.total).toBeLessThanOrEqual(N / 25)

        const clean = yield* counted(Reconcile.run({ segments: 3 }))
        expect(clean.result).toMatchObject({ documents: N, compared: N, cacheEntries: N, bodiesRead: 0 })
        expect(Reconcile.hasDrift(clean.result)).toBe(false)
        expect(clean.s3.byOperation).toStrictEqual({ ListObjectsV2: Math.ceil(N / 1000) })
        expect(Object.keys(clean.dynamodb.byOperation)).toStrictEqual(["Scan"])
        expect(clean.dynamodb.total).toBeLessThanOrEqual(N / 25)
        // The default segment count: each of its segments (about 260 items here) is one Scan page.
        const byDefault = yield* counted(Reconcile.run())
        expect(byDefault.result).toMatchObject({ compared: N, segments: Reconcile.defaultSegments, bodiesRead: 0 })
        expect(byDefault.dynamodb.byOperation).toStrictEqual({ Scan: Reconcile.defaultSegments })
        expect(byDefault.dynamodb.total).toBeLessThanOrEqual(N / 25)

        // One document changes in S3, one is cached 8 years ahead without an object.
        const eightYears = new Date(Date.now() + 8 * 366 * 86_400_000).toISOString()
        yield* within(
          Effect.gen(function* () {
            const store = yield* DocumentStore.DocumentStore
            const cache = yield* DocumentCache.DocumentCache
            yield* store.put(change(7, 9))
            const orphan = change(N + 1, 1, eightYears)
            yield* cache.put(orphan, { s3Key: store.keyOf(orphan.kind, orphan.id), etag: '"gone"' })
          }),
        )
        const drift = yield* counted(Reconcile.run({ segments: 5 }))
        expect(drift.result.counts).toMatchObject({ stale: 1, orphaned: 1, missing: 0, expired: 0 })
        expect(drift.result.drift.map((d) => `${d.type} ${d.id}`).sort()).toStrictEqual([
          `orphaned CHG-bulk-${String(N + 1).padStart(6, "0")}`,
          "stale CHG-bulk-000007",
        ])
        expect(drift.result.bodiesRead).toBe(1)
        expect(drift.s3.byOperation).toStrictEqual({ ListObjectsV2: Math.ceil(N / 1000), GetObject: 1, HeadObject: 1 })

        const partial = yield* counted(Backfill.run({ concurrency: 16 }))
        expect(partial.result).toMatchObject({ written: 1, unchanged: N - 1, bodiesRead: 1 })
        expect(partial.s3.byOperation).toStrictEqual({ ListObjectsV2: Math.ceil(N / 1000), GetObject: 1 })
      }),
    { timeout: 600_000 },
  )
})

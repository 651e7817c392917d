/**
 * Heal on DynamoDB Local and the S3 emulator, with a counting proxy in front of
 * both: the sweep reads the sparse IntentIndex (one Query per shard, no Scan),
 * rolls forward the intent whose put S3 holds, drops the one whose put never
 * arrived, and leaves a live intent alone. Request counts are asserted, not
 * timings.
 */
import * as CountingProxy from "@docket/local/CountingProxy"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type * as CacheEntry from "../src/CacheEntry.js"
import type * as Docket from "../src/Docket.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as Heal from "../src/Heal.js"
import * as Table from "../src/Table.js"
import * as Counted from "./support/Counted.js"

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const change = (id: string, version: number): Document.AnyDocument => ({
  kind: "change",
  id,
  version,
  title: `${id} v${version}`,
  customers: version > 1 ? ["acme", "initech"] : ["acme"],
  status: "scheduled",
  schedule: { start: "2099-11-10T10:00:00Z", end: "2099-11-10T11:00:00Z" },
  createdAt: "2099-10-01T00:00:00Z",
  updatedAt: `2099-10-0${version}T00:00:00Z`,
})

let proxied: CountingProxy.Around
let layer: Layer.Layer<Docket.Services>

beforeAll(async () => {
  const isolated = await Testing.isolated("heal")
  proxied = await CountingProxy.around(Testing.endpoints())
  layer = Counted.layer(proxied, isolated)
})

afterAll(async () => {
  await proxied?.close()
})

const versionIn = (entry: Option.Option<CacheEntry.Entry>) =>
  Option.getOrUndefined(Option.map(entry, (e) => (e._tag === "Cached" ? e.summary.version : ("tombstone" as const))))

describe("Heal on DynamoDB Local and the S3 emulator", () => {
  it.live(
    "sweep reads the sparse intents index only (one Query per shard, no Scan): rolls forward, drops, leaves a live intent",
    () =>
      Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        const store = yield* DocumentStore.DocumentStore
        const now = yield* Clock.currentTimeMillis
        // v1 committed, as write-through leaves it; then dead writers' intents for v2.
        for (const id of ["CHG-heal-landed", "CHG-heal-lost", "CHG-heal-live"]) {
          const v1 = change(id, 1)
          const out = yield* store.put(v1)
          yield* cache.put(v1, { s3Key: store.keyOf(v1.kind, v1.id), etag: out.etag })
        }
        const intend = (id: string, leaseExpiresAt: number) => {
          const v2 = change(id, 2)
          return cache.intend({
            kind: v2.kind,
            id,
            writer: `dead-${id}`,
            s3Key: store.keyOf(v2.kind, id),
            leaseExpiresAt,
            change: { _tag: "Put", document: v2, etag: DocumentStore.expectedEtag(v2) },
          })
        }
        yield* intend("CHG-heal-landed", now - 1_000)
        yield* store.put(change("CHG-heal-landed", 2))
        yield* intend("CHG-heal-lost", now - 1_000)
        yield* intend("CHG-heal-live", now + 600_000)

        proxied.reset()
        const report = yield* Heal.sweep()
        const dynamodb = proxied.dynamodb.counts().byOperation
        const s3 = proxied.s3.counts().byOperation
        expect(report).toEqual({ found: 2, rolledForward: 1, dropped: 1, gone: 0, failed: 0 })
        // Found through the index: one Query per shard; each resolution reads its item once and writes once.
        expect(dynamodb.Scan).toBeUndefined()
        expect(dynamodb.Query).toBe(Table.intentShards)
        expect(dynamodb.GetItem).toBe(2)
        expect(dynamodb.TransactWriteItems).toBe(1)
        expect(dynamodb.UpdateItem).toBe(1)
        expect(s3).toStrictEqual({ HeadObject: 2, GetObject: 1 })

        const landed = yield* cache.inspect("change", "CHG-heal-landed")
        expect([versionIn(landed.entry), landed.intent]).toEqual([2, Option.none()])
        const lost = yield* cache.inspect("change", "CHG-heal-lost")
        expect([versionIn(lost.entry), lost.intent]).toEqual([1, Option.none()])
        const live = yield* cache.inspect("change", "CHG-heal-live")
        expect(versionIn(live.entry)).toBe(1)
        expect(Option.map(live.intent, (i) => i.writer)).toEqual(Option.some("dead-CHG-heal-live"))

        // The rolled-forward v2 is queryable under its new customer; the dropped one is not.
        const initech = yield* cache
          .page(
            {
              target: { _tag: "Customer", customer: "initech" },
              from: "2099-01-01T00:00:00Z",
              to: "2099-12-31T00:00:00Z",
            },
            { limit: 10 },
          )
          .pipe(Effect.map((page) => page.items.map((s) => `${s.id} v${s.version}`)))
        expect(initech).toEqual(["CHG-heal-landed v2"])

        // Nothing expired is left: the next sweep only reads the index.
        proxied.reset()
        expect((yield* Heal.sweep()).found).toBe(0)
        expect(proxied.dynamodb.counts().byOperation).toStrictEqual({ Query: Table.intentShards })
        // With progress, the index is read twice (a count, then the sweep): still no Scan.
        proxied.reset()
        expect((yield* Heal.sweep({ onProgress: () => Effect.void })).found).toBe(0)
        expect(proxied.dynamodb.counts().byOperation).toStrictEqual({ Query: 2 * Table.intentShards })
      }).pipe(Effect.provide(layer), Effect.provide(quiet)),
    { timeout: 120_000 },
  )
})

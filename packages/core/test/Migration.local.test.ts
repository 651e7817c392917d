/**
 * Migration to the write protocol on DynamoDB Local and the S3 emulator: an item
 * written by a release before the protocol (no intent attributes, no `rev`, and,
 * from the oldest releases, no `etag` or `contentHash`) stays readable, is never
 * seen by the intents sweep, and is replaced by the protocol's first write of
 * the document, exactly like any committed item.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type * as Docket from "../src/Docket.js"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as Heal from "../src/Heal.js"
import * as Items from "../src/Items.js"
import * as Table from "../src/Table.js"
import * as WriteThrough from "../src/WriteThrough.js"
import * as LocalDocket from "./support/LocalDocket.js"

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const change = (version: number): Document.AnyDocument => ({
  kind: "change",
  id: "CHG-migrated-1",
  version,
  title: `migrated v${version}`,
  customers: ["acme"],
  status: "scheduled",
  schedule: { start: "2099-11-10T10:00:00Z", end: "2099-11-10T11:00:00Z" },
  createdAt: "2099-10-01T00:00:00Z",
  updatedAt: `2099-10-0${version}T00:00:00Z`,
})

let isolated: Testing.Isolated
let layer: Layer.Layer<Docket.Services>
let client: DynamoDBClient

beforeAll(async () => {
  isolated = await Testing.isolated("migration")
  client = new DynamoDBClient(isolated.clientConfig.dynamodb)
  layer = LocalDocket.layer(isolated)
})

afterAll(() => {
  client?.destroy()
})

/** What a release before the protocol left: the document items without any attribute the protocol added. */
const oldItems = (document: Document.AnyDocument, s3Key: string) => {
  const items = Items.toItems(document, DocumentKind.defaultRegistry, {
    s3Key,
    retentionDays: 36_500,
  })
  const newer = new Set<string>(["rev", "etag", "contentHash", ...Object.values(Table.intentAttributes)])
  const strip = (item: Items.Item) => Object.fromEntries(Object.entries(item).filter(([name]) => !newer.has(name)))
  return { document: strip(items.document), customers: items.customers.map(strip) }
}

describe("migration to the write protocol", () => {
  it.live(
    "an item written before the protocol is read, left alone by the sweep, and replaced by the first write",
    () =>
      Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        const store = yield* DocumentStore.DocumentStore
        const reader = yield* FallbackReader.FallbackReader
        const writeThrough = yield* WriteThrough.WriteThrough
        const v1 = change(1)
        const s3Key = store.keyOf(v1.kind, v1.id)
        yield* store.put(v1)
        const old = oldItems(v1, s3Key)
        for (const item of [old.document, ...old.customers]) {
          yield* Effect.promise(() => client.send(new PutItemCommand({ TableName: isolated.table, Item: item })))
        }

        // Read: a cache hit of exactly the document, no intent.
        const inspected = yield* cache.inspect(v1.kind, v1.id)
        expect(inspected.intent).toEqual(Option.none())
        expect(
          Option.map(inspected.entry, (e) => (e._tag === "Cached" ? [e.summary.version, e.etag] : e._tag)),
        ).toEqual(Option.some([1, undefined]))
        const read = yield* reader.read(v1.kind, v1.id)
        expect(Option.map(read, (r) => [r.source, r.document])).toEqual(Option.some(["cache", v1]))
        const listed = yield* cache.page(
          { target: { _tag: "Customer", customer: "acme" }, from: "2099-01-01T00:00:00Z", to: "2099-12-31T00:00:00Z" },
          { limit: 10 },
        )
        expect(listed.items.map((s) => `${s.id} v${s.version}`)).toEqual(["CHG-migrated-1 v1"])

        // The sweep reads the sparse index only: an old item carries no intent attributes, so it is not there.
        expect((yield* Heal.sweep()).found).toBe(0)

        // The same document again is Unchanged (its content hash is taken from the body when the item has none).
        expect((yield* writeThrough.write(v1))._tag).toBe("Unchanged")
        // The first protocol write replaces it (S3's put has no If-Match: the item does not know the ETag; the
        // intent alone guards it), and the item now has everything the protocol writes.
        const v2 = change(2)
        const written = yield* writeThrough.write(v2)
        expect(written).toMatchObject({ _tag: "Written", version: 2 })
        expect(Option.map(yield* store.get(v1.kind, v1.id), (s) => s.document)).toEqual(Option.some(v2))
        const item = yield* Effect.promise(() =>
          client.send(
            new GetItemCommand({
              TableName: isolated.table,
              Key: { pk: { S: Items.documentPk(v1.kind, v1.id) }, sk: { S: Items.documentSk } },
              ConsistentRead: true,
            }),
          ),
        )
        expect(item.Item?.etag?.S).toBe(written._tag === "Written" ? written.etag : "")
        expect(item.Item?.rev?.S).toBeDefined()
        expect(item.Item?.[Table.intentAttributes.writer]).toBeUndefined()
      }).pipe(Effect.provide(layer), Effect.provide(quiet)),
    { timeout: 120_000 },
  )
})

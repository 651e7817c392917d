import { createHash } from "node:crypto"
import { gzipSync } from "node:zlib"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { parquetWriteBuffer } from "hyparquet-writer"
import * as Backfill from "../src/Backfill.js"
import * as Docket from "../src/Docket.js"
import type * as Document from "../src/Document.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as Inventory from "../src/Inventory.js"
import * as Reconcile from "../src/Reconcile.js"

const change = (id: string): Document.AnyDocument => ({
  kind: "change",
  id,
  version: 1,
  title: `Change ${id}`,
  customers: ["acme"],
  status: "approved",
  schedule: { start: "2026-11-01T10:00:00Z", end: "2026-11-01T11:00:00Z" },
  createdAt: "2026-10-01T00:00:00Z",
  updatedAt: "2026-10-01T00:00:00Z",
})

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")
const csvSchema = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag"
const quote = (s: string) => `"${s.replace(/"/g, '""')}"`
/** How S3 Inventory encodes keys in CSV: URL-encoded, a space as `+`. */
const encodeKey = (key: string) => encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+")

interface Listed {
  readonly key: string
  readonly etag: string
  readonly size: number
}

const csvFile = (bucket: string, rows: ReadonlyArray<Listed & { latest?: boolean; marker?: boolean }>) =>
  gzipSync(
    rows
      .map((r) =>
        [
          bucket,
          encodeKey(r.key),
          "v1",
          String(r.latest ?? true),
          String(r.marker ?? false),
          String(r.size),
          "2026-11-30T01:00:00.000Z",
          r.etag.replace(/"/g, ""),
        ]
          .map(quote)
          .join(","),
      )
      .join("\n")
      .concat("\n"),
  )

const parquetFile = (bucket: string, rows: ReadonlyArray<Listed>) =>
  new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: "bucket", data: rows.map(() => bucket), type: "STRING" },
        { name: "key", data: rows.map((r) => r.key), type: "STRING" },
        { name: "is_latest", data: rows.map(() => true), type: "BOOLEAN" },
        { name: "is_delete_marker", data: rows.map(() => false), type: "BOOLEAN" },
        { name: "size", data: rows.map((r) => BigInt(r.size)), type: "INT64" },
        { name: "e_tag", data: rows.map((r) => r.etag.replace(/"/g, "")), type: "STRING" },
      ],
      rowGroupSize: 4,
    }),
  )

/** A manifest.json, its manifest.checksum and its files, as S3 Inventory lays them out. */
const inventory = (
  destination: string,
  source: string,
  format: "CSV" | "Parquet",
  files: ReadonlyArray<Uint8Array>,
) => {
  const base = `${source}/daily/2026-12-01T01-00Z`
  const objects = new Map<string, Uint8Array>()
  const entries = files.map((bytes, i) => {
    const key = `${source}/daily/data/file-${i}.${format === "CSV" ? "csv.gz" : "parquet"}`
    objects.set(key, bytes)
    return { key, size: bytes.length, MD5checksum: md5(bytes) }
  })
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      sourceBucket: source,
      destinationBucket: `arn:aws:s3:::${destination}`,
      version: "2016-11-30",
      creationTimestamp: "1764550800000",
      fileFormat: format,
      fileSchema:
        format === "CSV"
          ? csvSchema
          : "message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional boolean is_latest; optional boolean is_delete_marker; optional int64 size; optional binary e_tag (STRING); }",
      files: entries,
    }),
  )
  objects.set(`${base}/manifest.json`, manifest)
  objects.set(`${base}/manifest.checksum`, new TextEncoder().encode(`${md5(manifest)}\n`))
  return { url: `s3://${destination}/${base}/manifest.json`, objects }
}

const inBucket = (bucket: string, objects: ReadonlyMap<string, Uint8Array>) =>
  new Map([...objects].map(([k, v]) => [`${bucket}/${k}`, v]))

const keysOf = (stream: Stream.Stream<DocumentStore.ObjectInfo, Inventory.InventoryError>) =>
  Effect.map(Stream.runCollect(stream), (c) => Chunk.toArray(c).map((i) => i.key))

describe("Inventory", () => {
  it.effect(
    "CSV (gzipped, URL-encoded keys) and Parquet (several row groups) inventories feed backfill and reconcile",
    () =>
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        const ids = ["CHG-a", "CHG-b", "CHG-d", "CHG-e", "CHG-f", "CHG-g", "CHG-h", "CHG-i", "CHG-j"]
        for (const id of ids) yield* store.put(change(id))
        const listed: Array<Listed> = Chunk.toArray(yield* Stream.runCollect(store.list())).map((i) => ({
          key: i.key,
          etag: i.etag,
          size: i.size,
        }))
        expect(listed.length).toBe(ids.length)
        const csv = inventory("inv", "memory", "CSV", [
          csvFile("memory", [
            ...listed.slice(0, 5),
            { key: "changes/CHG-old.json", etag: "x", size: 1, latest: false },
            { key: "changes/CHG-deleted.json", etag: "x", size: 1, marker: true },
          ]),
          csvFile("memory", listed.slice(5)),
        ])
        const reader = Inventory.memoryReader(inBucket("inv", csv.objects))
        expect((yield* keysOf(Inventory.objects(csv.url, reader))).sort()).toStrictEqual(
          listed.map((l) => l.key).sort(),
        )

        const parquet = inventory("inv", "memory", "Parquet", [parquetFile("memory", listed)])
        const parquetReader = Inventory.memoryReader(inBucket("inv", parquet.objects))
        expect((yield* keysOf(Inventory.objects(parquet.url, parquetReader))).sort()).toStrictEqual(
          listed.map((l) => l.key).sort(),
        )

        const source = (url: string, r: Inventory.Reader) => ({
          kind: "inventory" as const,
          objects: Inventory.objects(url, r),
        })
        const first = yield* Backfill.run({ source: source(csv.url, reader) })
        expect(first).toMatchObject({ listed: ids.length, written: ids.length, failed: 0 })
        const again = yield* Backfill.run({ source: source(parquet.url, parquetReader) })
        expect(again).toMatchObject({ listed: ids.length, written: 0, unchanged: ids.length, bodiesRead: 0 })
        const report = yield* Reconcile.run({ source: source(parquet.url, parquetReader) })
        expect(report).toMatchObject({
          source: "inventory",
          documents: ids.length,
          compared: ids.length,
          bodiesRead: 0,
        })
        expect(Reconcile.hasDrift(report)).toBe(false)
      }).pipe(Effect.provide(Docket.layerMemory())),
  )

  it.effect("a file or a manifest that does not match its checksum fails before any of its rows is used", () =>
    Effect.gen(function* () {
      const store = yield* DocumentStore.DocumentStore
      yield* store.put(change("CHG-x"))
      const listed = Chunk.toArray(yield* Stream.runCollect(store.list())).map((i) => ({ ...i }))
      const good = inventory("inv", "memory", "CSV", [csvFile("memory", listed)])
      const tamperedFile = new Map(good.objects)
      const fileKey = [...good.objects.keys()].find((k) => k.endsWith(".csv.gz")) as string
      tamperedFile.set(fileKey, csvFile("memory", [...listed, { key: "changes/CHG-evil.json", etag: "e", size: 1 }]))
      const fileError = yield* Effect.flip(
        Stream.runDrain(Inventory.objects(good.url, Inventory.memoryReader(inBucket("inv", tamperedFile)))),
      )
      expect(fileError).toMatchObject({ _tag: "InventoryError", reason: "ChecksumMismatch" })
      expect(fileError.message).toContain(fileKey)
      const run = yield* Effect.flip(
        Backfill.run({
          source: {
            kind: "inventory",
            objects: Inventory.objects(good.url, Inventory.memoryReader(inBucket("inv", tamperedFile))),
          },
        }),
      )
      expect(run).toMatchObject({ _tag: "BackfillError", reason: "ListingFailed" })
      expect(run.message).toContain("MD5")

      const tamperedManifest = new Map(good.objects)
      const manifestKey = [...good.objects.keys()].find((k) => k.endsWith("manifest.json")) as string
      tamperedManifest.set(manifestKey, new TextEncoder().encode('{"files": []}'))
      const manifestError = yield* Effect.flip(
        Stream.runDrain(Inventory.objects(good.url, Inventory.memoryReader(inBucket("inv", tamperedManifest)))),
      )
      expect(manifestError).toMatchObject({ reason: "ChecksumMismatch" })
      expect(manifestError.message).toContain("manifest.checksum")

      const bad = yield* Effect.flip(Inventory.parseLocation("s3://inv/daily/data/file-0.csv.gz"))
      expect(bad).toMatchObject({ reason: "BadLocation" })
    }).pipe(Effect.provide(Docket.layerMemory())),
  )

  it.live("s3Reader reads a Parquet inventory from the S3 emulator", () =>
    Effect.gen(function* () {
      const iso = yield* Effect.promise(() => Testing.isolated("inventory"))
      const client = new S3Client(iso.clientConfig.s3)
      const listed = [0, 1, 2, 3, 4, 5].map((i) => ({ key: `changes/CHG-s3-${i}.json`, etag: `"e${i}"`, size: 10 }))
      const inv = inventory(iso.bucket, "source-bucket", "Parquet", [parquetFile("source-bucket", listed)])
      yield* Effect.promise(() =>
        Promise.all(
          [...inv.objects].map(([Key, Body]) => client.send(new PutObjectCommand({ Bucket: iso.bucket, Key, Body }))),
        ),
      )
      const found = Chunk.toArray(yield* Stream.runCollect(Inventory.objects(inv.url, Inventory.s3Reader(client))))
      client.destroy()
      expect(found.map((f) => [f.key, f.etag])).toStrictEqual(listed.map((l) => [l.key, l.etag.replace(/"/g, "")]))
    }),
  )
})

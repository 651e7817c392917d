/**
 * S3 Inventory as the input of backfill and reconcile (DESIGN section 6): a
 * bucket too big to list every day is read from its daily inventory instead.
 * `objects("s3://inventory-bucket/.../manifest.json", reader)` reads the
 * manifest, checks it against `manifest.checksum` (its MD5), downloads each
 * inventory file to a temporary file while hashing it, checks the file's
 * `MD5checksum` from the manifest before a single row is used, and streams the
 * rows (CSV, gzipped or not, or Parquet) as {@link DocumentStore.ObjectInfo}.
 * Non-current versions and delete markers are skipped; CSV keys are
 * URL-decoded (the inventory encodes them); Parquet keys are as stored.
 *
 * Memory stays flat: one file on disk at a time, CSV read line by line,
 * Parquet one row group at a time.
 *
 * @example
 * ```ts
 * import * as Inventory from "@docket/core/Inventory"
 * const source = Inventory.objects("s3://inv/docs/config/2026-12-01T01-00Z/manifest.json", Inventory.s3Reader(client))
 * yield* Backfill.run({ source: { kind: "inventory", objects: source } })
 * ```
 *
 * @since 0.2.0
 */
import { createHash } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { mkdtemp, open, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { createGunzip } from "node:zlib"
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { parquetMetadataAsync, parquetReadObjects } from "hyparquet"
import type * as DocumentStore from "./DocumentStore.js"

/** The inventory could not be read, or does not check out. */
export class InventoryError extends Data.TaggedError("InventoryError")<{
  readonly reason: "BadLocation" | "BadManifest" | "ChecksumMismatch" | "UnsupportedFormat" | "ReadFailed" | "BadFile"
  /** `s3://bucket/key` of the manifest or file concerned. */
  readonly location: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return `Inventory ${this.location}: ${this.detail}`
  }
}

/** One inventory file of a manifest. */
export interface ManifestFile {
  readonly key: string
  readonly size: number
  readonly MD5checksum: string
}

/** The fields of `manifest.json` that Docket reads. */
export interface Manifest {
  readonly sourceBucket: string
  readonly destinationBucket: string
  readonly fileFormat: "CSV" | "Parquet" | "ORC"
  /** CSV: the column names, comma-separated; Parquet: the schema message. */
  readonly fileSchema: string
  readonly files: ReadonlyArray<ManifestFile>
}

/** Reads objects of the inventory's destination bucket. */
export type Reader = (bucket: string, key: string) => Effect.Effect<Readable, InventoryError>

/** A {@link Reader} over an S3 client (GetObject). */
export const s3Reader =
  (client: S3Client): Reader =>
  (bucket, key) =>
    Effect.tryPromise({
      try: (signal) => client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
      catch: (cause) =>
        new InventoryError({
          reason: "ReadFailed",
          location: `s3://${bucket}/${key}`,
          detail: `GetObject failed: ${(cause as Error)?.message ?? String(cause)}`,
          cause,
        }),
    }).pipe(Effect.map((out) => out.Body as Readable))

/** Splits `s3://bucket/key` (the manifest's location). */
export const parseLocation = (url: string): Effect.Effect<{ bucket: string; key: string }, InventoryError> => {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url)
  return match === null || !match[2]?.endsWith("manifest.json")
    ? Effect.fail(
        new InventoryError({
          reason: "BadLocation",
          location: url,
          detail: "expected s3://BUCKET/.../manifest.json (the manifest of one inventory run)",
        }),
      )
    : Effect.succeed({ bucket: match[1] as string, key: match[2] })
}

const bucketOfArn = (arn: string) => arn.replace(/^arn:aws[a-z-]*:s3:::/, "")

/** Decodes and checks `manifest.json`. */
export const decodeManifest = (location: string, text: string): Effect.Effect<Manifest, InventoryError> => {
  const bad = (detail: string, cause?: unknown) =>
    new InventoryError({ reason: "BadManifest", location, detail, ...(cause !== undefined ? { cause } : {}) })
  return Effect.try({ try: () => JSON.parse(text) as Record<string, unknown>, catch: (e) => bad("not JSON", e) }).pipe(
    Effect.flatMap((raw) => {
      const files = raw.files
      if (typeof raw.sourceBucket !== "string") return Effect.fail(bad("no sourceBucket"))
      if (typeof raw.fileFormat !== "string") return Effect.fail(bad("no fileFormat"))
      if (!Array.isArray(files)) return Effect.fail(bad("no files list"))
      for (const [i, f] of files.entries()) {
        const file = f as Record<string, unknown>
        if (typeof file.key !== "string" || typeof file.MD5checksum !== "string") {
          return Effect.fail(bad(`files[${i}] needs key and MD5checksum`))
        }
      }
      const format = raw.fileFormat.toUpperCase()
      return Effect.succeed<Manifest>({
        sourceBucket: raw.sourceBucket,
        destinationBucket: bucketOfArn(String(raw.destinationBucket ?? "")),
        fileFormat: format === "CSV" ? "CSV" : format === "PARQUET" ? "Parquet" : "ORC",
        fileSchema: String(raw.fileSchema ?? ""),
        files: (files as Array<Record<string, unknown>>).map((f) => ({
          key: f.key as string,
          size: Number(f.size ?? 0),
          MD5checksum: String(f.MD5checksum).toLowerCase(),
        })),
      })
    }),
  )
}

const readAll = (stream: Readable): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    stream.on("data", (part: Buffer) => parts.push(Buffer.from(part)))
    stream.on("error", reject)
    stream.on("end", () => resolve(Buffer.concat(parts)))
  })

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

/** Reads and checks the manifest: its MD5 must equal `manifest.checksum` beside it. */
export const readManifest = (url: string, reader: Reader): Effect.Effect<Manifest, InventoryError> =>
  Effect.gen(function* () {
    const { bucket, key } = yield* parseLocation(url)
    const fetch = (k: string) =>
      Effect.flatMap(reader(bucket, k), (body) =>
        Effect.tryPromise({
          try: () => readAll(body),
          catch: (cause) =>
            new InventoryError({ reason: "ReadFailed", location: `s3://${bucket}/${k}`, detail: String(cause), cause }),
        }),
      )
    const [manifest, checksum] = yield* Effect.all(
      [fetch(key), fetch(key.replace(/manifest\.json$/, "manifest.checksum"))],
      { concurrency: 2 },
    )
    const expected = checksum.toString("utf8").trim().toLowerCase()
    const actual = md5(manifest)
    if (expected !== actual) {
      return yield* new InventoryError({
        reason: "ChecksumMismatch",
        location: url,
        detail: `manifest.json has MD5 ${actual}, manifest.checksum says ${expected}`,
      })
    }
    const decoded = yield* decodeManifest(url, manifest.toString("utf8"))
    if (decoded.fileFormat === "ORC") {
      return yield* new InventoryError({
        reason: "UnsupportedFormat",
        location: url,
        detail: "ORC inventories are not supported: configure the inventory as CSV or Parquet",
      })
    }
    return { ...decoded, destinationBucket: decoded.destinationBucket || bucket }
  })

/** Splits one CSV line (RFC 4180 quoting, as S3 Inventory writes it). */
export const csvFields = (line: string): Array<string> => {
  const out: Array<string> = []
  let i = 0
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = ""
      i++
      for (;;) {
        const q = line.indexOf('"', i)
        if (q < 0) throw new Error("unterminated quoted field")
        value += line.slice(i, q)
        if (line[q + 1] === '"') {
          value += '"'
          i = q + 2
        } else {
          i = q + 1
          break
        }
      }
      out.push(value)
      i++ // the comma
    } else {
      const comma = line.indexOf(",", i)
      const end = comma < 0 ? line.length : comma
      out.push(line.slice(i, end))
      i = end + 1
    }
  }
  return out
}

/** Keys in CSV inventories are URL-encoded (a space as `+`). */
const decodeCsvKey = (key: string) => decodeURIComponent(key.replace(/\+/g, " "))

interface Row {
  readonly key: string
  readonly etag: string | undefined
  readonly size: number
  readonly lastModified: Date | undefined
  readonly current: boolean
}

const info = (row: Row): DocumentStore.ObjectInfo => ({
  key: row.key,
  etag: row.etag ?? "",
  size: row.size,
  lastModified: row.lastModified,
  metadata: Option.none(),
})

async function* csvRows(path: string, schema: string): AsyncGenerator<Row> {
  const columns = schema.split(",").map((c) => c.trim().toLowerCase())
  const at = (name: string) => columns.indexOf(name)
  const [key, etag, size, modified, latest, marker] = [
    at("key"),
    at("etag"),
    at("size"),
    at("lastmodifieddate"),
    at("islatest"),
    at("isdeletemarker"),
  ]
  if (key < 0) throw new Error(`the CSV schema has no Key column: ${schema}`)
  const handle = await open(path)
  const magic = Buffer.alloc(2)
  await handle.read(magic, 0, 2, 0)
  await handle.close()
  const raw = createReadStream(path, { highWaterMark: 64 * 1024 })
  const input = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
  let n = 0
  try {
    for await (const line of lines) {
      n++
      if (line.length === 0) continue
      const f = csvFields(line)
      if (f.length < columns.length) throw new Error(`line ${n} has ${f.length} fields, the schema ${columns.length}`)
      yield {
        key: decodeCsvKey(f[key] as string),
        etag: etag < 0 ? undefined : f[etag],
        size: size < 0 ? 0 : Number(f[size] ?? 0),
        lastModified: modified < 0 || !f[modified] ? undefined : new Date(f[modified] as string),
        current: (latest < 0 || f[latest] !== "false") && (marker < 0 || f[marker] !== "true"),
      }
    }
  } finally {
    lines.close()
  }
}

async function* parquetRows(path: string): AsyncGenerator<Row> {
  const handle = await open(path)
  try {
    const { size } = await handle.stat()
    const file = {
      byteLength: size,
      slice: async (start: number, end?: number) => {
        const stop = end ?? size
        const buffer = Buffer.alloc(stop - start)
        await handle.read(buffer, 0, stop - start, start)
        return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer
      },
    }
    const metadata = await parquetMetadataAsync(file)
    const names = new Set(metadata.schema.map((s) => s.name))
    if (!names.has("key")) throw new Error("the Parquet schema has no key column")
    const columns = ["key", "e_tag", "size", "last_modified_date", "is_latest", "is_delete_marker"].filter((c) =>
      names.has(c),
    )
    let rowStart = 0
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows)
      const rows = await parquetReadObjects({ file, metadata, columns, rowStart, rowEnd })
      for (const r of rows) {
        const modified = r.last_modified_date
        yield {
          key: String(r.key),
          etag: r.e_tag === undefined || r.e_tag === null ? undefined : String(r.e_tag),
          size: Number(r.size ?? 0),
          lastModified:
            modified instanceof Date
              ? modified
              : modified === undefined || modified === null
                ? undefined
                : new Date(Number(modified)),
          current: r.is_latest !== false && r.is_delete_marker !== true,
        }
      }
      rowStart = rowEnd
    }
  } finally {
    await handle.close()
  }
}

/** Downloads one inventory file to `path`, hashing it; fails unless its MD5 is the manifest's. */
const download = (reader: Reader, bucket: string, file: ManifestFile, path: string) =>
  Effect.flatMap(reader(bucket, file.key), (body) =>
    Effect.tryPromise({
      try: async () => {
        const hash = createHash("md5")
        await pipeline(
          body,
          async function* (source) {
            for await (const part of source) {
              hash.update(part as Buffer)
              yield part
            }
          },
          createWriteStream(path),
        )
        return hash.digest("hex")
      },
      catch: (cause) =>
        new InventoryError({
          reason: "ReadFailed",
          location: `s3://${bucket}/${file.key}`,
          detail: `download failed: ${String(cause)}`,
          cause,
        }),
    }),
  ).pipe(
    Effect.flatMap((actual) =>
      actual === file.MD5checksum
        ? Effect.void
        : Effect.fail(
            new InventoryError({
              reason: "ChecksumMismatch",
              location: `s3://${bucket}/${file.key}`,
              detail: `the file has MD5 ${actual}, the manifest says ${file.MD5checksum}`,
            }),
          ),
    ),
  )

/** Options of {@link objects}. */
export interface Options {
  /** Only keys under this prefix (Docket's document prefix). */
  readonly prefix?: string
  /** Where inventory files are downloaded (default the OS temporary directory). */
  readonly directory?: string
}

/**
 * Every current object the inventory lists (under `prefix`), file by file, each
 * file checked against its MD5 before its rows are used.
 */
export const objects = (
  url: string,
  reader: Reader,
  options: Options = {},
): Stream.Stream<DocumentStore.ObjectInfo, InventoryError> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const manifest = yield* readManifest(url, reader)
      const directory = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => mkdtemp(join(options.directory ?? tmpdir(), "docket-inventory-")),
          catch: (cause) =>
            new InventoryError({
              reason: "ReadFailed",
              location: url,
              detail: `could not create a temporary directory for the inventory files: ${(cause as Error)?.message ?? String(cause)}`,
              cause,
            }),
        }),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
      )
      const prefix = options.prefix ?? ""
      const fileRows = (file: ManifestFile, index: number): Stream.Stream<DocumentStore.ObjectInfo, InventoryError> => {
        const path = join(directory, `file-${index}`)
        const location = `s3://${manifest.destinationBucket}/${file.key}`
        return Stream.fromEffect(download(reader, manifest.destinationBucket, file, path)).pipe(
          Stream.flatMap(() =>
            Stream.fromAsyncIterable(
              manifest.fileFormat === "CSV" ? csvRows(path, manifest.fileSchema) : parquetRows(path),
              (cause) =>
                new InventoryError({
                  reason: "BadFile",
                  location,
                  detail: `unreadable ${manifest.fileFormat} inventory file: ${(cause as Error)?.message ?? String(cause)}`,
                  cause,
                }),
            ),
          ),
          Stream.filter((row) => row.current && row.key.startsWith(prefix)),
          Stream.map(info),
          Stream.ensuring(Effect.promise(() => rm(path, { force: true }))),
        )
      }
      return Stream.fromIterable(manifest.files).pipe(
        Stream.zipWithIndex,
        Stream.flatMap(([file, index]) => fileRows(file, index)),
      )
    }),
  )

/** A {@link Reader} over bytes in memory (tests, or files already fetched). */
export const memoryReader =
  (objects: ReadonlyMap<string, Uint8Array>): Reader =>
  (bucket, key) => {
    const bytes = objects.get(`${bucket}/${key}`)
    return bytes === undefined
      ? Effect.fail(
          new InventoryError({ reason: "ReadFailed", location: `s3://${bucket}/${key}`, detail: "no such object" }),
        )
      : Effect.succeed(Readable.from([Buffer.from(bytes)]))
  }

/**
 * Backfill's edges that the first mutation pass over backfill (issue #11) found
 * untested: filter boundaries (from inclusive, to exclusive), each filter alone
 * deciding from a HEAD, the customer of a `customers/` path next to metadata, a
 * document changed in S3 or moved to another key since the last run, quoted and weak
 * ETags, a fingerprint marked for re-indexing, an object deleted between the listing
 * and its reads, failures of any value, empty filter lists, the requests a run makes
 * (fingerprints per batch, HEADs), the intervals on a clock that does not start at 0,
 * and the log lines. Memory layers, TestClock; behaviour and request counts only.
 */

import * as Backfill from "@docket/core/Backfill"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { change, counting, services } from "./support/Backfill.js"
import { logsOf } from "./support/Logs.js"

/** The cache recording every `fingerprints` call's refs. */
const recording = (cache: DocumentCache.Service) => {
  const calls: Array<ReadonlyArray<DocumentCache.DocumentRef>> = []
  const service: DocumentCache.Service = {
    ...cache,
    fingerprints: (refs) =>
      Effect.zipRight(
        Effect.sync(() => void calls.push(refs)),
        cache.fingerprints(refs),
      ),
  }
  return { service, calls }
}

const exporter = new InMemorySpanExporter()
const otel = NodeSdk.layer(() => ({
  resource: { serviceName: "docket-test" },
  spanProcessor: new SimpleSpanProcessor(exporter),
}))

const memory = <A, E>(self: Effect.Effect<A, E, Docket.Services>, settings = {}) =>
  Effect.provide(self, Docket.layerMemory(settings))

const withStore = (service: DocumentStore.Service) => Effect.provideService(DocumentStore.DocumentStore, service)
const withCache = (service: DocumentCache.Service) => Effect.provideService(DocumentCache.DocumentCache, service)

const ids = (n: number) => Array.from({ length: n }, (_, i) => `CHG-${String(i).padStart(3, "0")}`)

const versionOf = (cache: DocumentCache.Service, id: string) =>
  Effect.map(cache.get("change", id), (e) =>
    Option.isSome(e) && e.value._tag === "Cached" ? e.value.summary.version : 0,
  )

describe("Backfill edges", () => {
  it.effect("from is inclusive and to exclusive, decided from metadata (HEAD) and from a body alike", () =>
    memory(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        const from = "2026-06-01T00:00:00Z"
        const to = "2026-07-01T00:00:00Z"
        yield* store.put(change("CHG-at-from", 1, from))
        yield* store.put(change("CHG-at-to", 1, to))
        // Foreign objects (no metadata): decided from the body.
        yield* store.putRaw("changes/CHG-raw-from.json", JSON.stringify(change("CHG-raw-from", 1, from)))
        yield* store.putRaw("changes/CHG-raw-to.json", JSON.stringify(change("CHG-raw-to", 1, to)))
        const summary = yield* Backfill.run({ from, to })
        expect(summary).toMatchObject({ listed: 4, matched: 2, written: 2, failed: 0 })
        expect(yield* versionOf(cache, "CHG-at-from")).toBe(1)
        expect(yield* versionOf(cache, "CHG-raw-from")).toBe(1)
        expect(yield* versionOf(cache, "CHG-at-to")).toBe(0)
        expect(yield* versionOf(cache, "CHG-raw-to")).toBe(0)
        // Once cached, the same boundaries hold on the cache's fingerprints.
        yield* Backfill.run()
        const rerun = yield* Backfill.run({ from, to })
        expect(rerun).toMatchObject({ matched: 2, unchanged: 2, written: 0 })
      }),
    ),
  )

  it.effect("each filter alone decides from a HEAD: a document its metadata excludes costs no body read", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        yield* store.put(change("CHG-early", 1, "2026-01-10T00:00:00Z", ["globex"]))
        yield* store.put(change("CHG-late", 1, "2026-12-10T00:00:00Z", ["acme"]))
        for (const [options, written] of [
          [{ from: "2026-06-01" }, 1],
          [{ to: "2026-06-01" }, 1],
          [{ customers: ["acme"] }, 1],
        ] as const) {
          const counted = counting(store)
          const summary = yield* Backfill.run({ ...options, dryRun: true }).pipe(withStore(counted.service))
          expect(summary.written, JSON.stringify(options)).toBe(written)
          expect(counted.n, JSON.stringify(options)).toStrictEqual({ heads: 2, reads: 1 })
        }
        // No filter, nothing cached: no HEAD, one body read each.
        const plain = counting(store)
        yield* Backfill.run().pipe(withStore(plain.service))
        expect(plain.n).toStrictEqual({ heads: 0, reads: 2 })
      }),
    ),
  )

  it.effect("an object under customers/C/ with metadata: the path's customer counts next to the metadata's", () =>
    memory(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        const doc = change("CHG-pathmeta", 1, "2026-12-10T00:00:00Z", ["globex"])
        // Docket's metadata (as Docket writes it) on a key under customers/acme/.
        const plain = yield* store.put(doc)
        const head = Option.getOrThrow(yield* store.head(plain.key))
        const raw = Option.getOrThrow(yield* store.getKey(plain.key))
        expect(Option.isSome(head.metadata)).toBe(true)
        yield* store.delete("change", "CHG-pathmeta")
        const metadata = Option.getOrThrow(head.metadata)
        yield* store.putRaw("customers/acme/changes/CHG-pathmeta.json", JSON.stringify(raw.document), {
          kind: metadata.kind,
          id: metadata.id,
          version: String(metadata.version),
          time: metadata.time,
          customers: metadata.customers.join(","),
          status: metadata.status,
        })
        const counted = counting(store)
        const summary = yield* Backfill.run({ customers: ["acme"] }).pipe(withStore(counted.service))
        expect(summary).toMatchObject({ matched: 1, written: 1 })
        expect(yield* versionOf(cache, "CHG-pathmeta")).toBe(1)
        const none = yield* Backfill.run({ customers: ["initech"] })
        expect(none).toMatchObject({ matched: 0 })
      }),
    ),
  )

  it.effect(
    "a document changed in S3 since the last run is read and written again; one moved to another key is read again",
    () =>
      memory(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          yield* store.put(change("CHG-edit", 1))
          yield* store.put(change("CHG-move", 1))
          expect(yield* Backfill.run()).toMatchObject({ written: 2 })
          yield* store.put(change("CHG-edit", 2))
          // The same bytes (the same ETag) under another key: the cache must point at the new key.
          const moved = Option.getOrThrow(yield* store.getKey("changes/CHG-move.json"))
          yield* store.delete("change", "CHG-move")
          yield* store.putRaw("customers/acme/changes/CHG-move.json", JSON.stringify(moved.document))
          const counted = counting(store)
          const summary = yield* Backfill.run().pipe(withStore(counted.service))
          // Both bodies are read: the edit is written, the move is the same version (the cache's own rule decides).
          expect(summary).toMatchObject({ written: 1, unchanged: 1, bodiesRead: 2 })
          // The listing gives their ETags: no HEAD first.
          expect(counted.n).toStrictEqual({ heads: 0, reads: 2 })
          expect(yield* versionOf(cache, "CHG-edit")).toBe(2)
        }),
      ),
  )

  it.effect("quoted and weak ETags on either side compare equal to bare ones: no body read", () =>
    memory(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        const a = yield* store.put(change("CHG-q", 1))
        const b = yield* store.put(change("CHG-w", 1))
        const docA = Option.getOrThrow(yield* store.getKey(a.key)).document
        const docB = Option.getOrThrow(yield* store.getKey(b.key)).document
        yield* cache.put(docA, { s3Key: a.key, etag: `"${a.etag}"` })
        yield* cache.put(docB, { s3Key: b.key, etag: `W/"${b.etag}"` })
        const counted = counting(store)
        expect(yield* Backfill.run().pipe(withStore(counted.service))).toMatchObject({ unchanged: 2, written: 0 })
        expect(counted.n).toStrictEqual({ heads: 0, reads: 0 })
        // The listing quoting its ETags (an inventory does): still no body read.
        const listed = Stream.fromIterable([
          { key: a.key, etag: `"${a.etag}"`, size: 1, lastModified: undefined, metadata: Option.none() },
          { key: b.key, etag: `W/"${b.etag}"`, size: 1, lastModified: undefined, metadata: Option.none() },
        ])
        const quoted = counting(store)
        const summary = yield* Backfill.run({ source: { kind: "inventory", objects: listed } }).pipe(
          withStore(quoted.service),
        )
        expect(summary).toMatchObject({ unchanged: 2, written: 0 })
        expect(quoted.n).toStrictEqual({ heads: 0, reads: 0 })
      }),
    ),
  )

  it.effect("a fingerprint marked for re-indexing goes the long way and is written again", () =>
    memory(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        yield* store.put(change("CHG-shard", 1))
        yield* Backfill.run()
        const stale: DocumentCache.Service = {
          ...cache,
          fingerprints: (refs) =>
            Effect.map(cache.fingerprints(refs), (fs) => fs.map((f) => ({ ...f, reindex: true }))),
        }
        const counted = counting(store)
        const summary = yield* Backfill.run().pipe(withCache(stale), withStore(counted.service))
        expect(summary.unchanged + summary.written).toBe(1)
        expect(counted.n.reads).toBe(1)
      }),
    ),
  )

  it.effect("an object deleted after the listing is skipped, whether the HEAD or the GET finds it gone", () =>
    memory(
      Effect.gen(function* () {
        const listed = Stream.fromIterable([
          { key: "changes/CHG-gone.json", etag: "e1", size: 1, lastModified: undefined, metadata: Option.none() },
        ])
        const source = { kind: "listing" as const, objects: listed }
        expect(yield* Backfill.run({ source })).toMatchObject({ processed: 1, failed: 0, written: 0, matched: 0 })
        expect(yield* Backfill.run({ source, from: "2026-01-01" })).toMatchObject({ processed: 1, failed: 0 })
        const results = yield* Backfill.processObjects([{ key: "changes/CHG-gone.json" }], { from: "2026-01-01" })
        expect(results.map((r) => r.outcome)).toStrictEqual(["skipped"])
      }),
    ),
  )

  it.effect("a failure of any value is reported with a tag, a message and retryable false", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        yield* store.put(change("CHG-null", 1))
        yield* store.put(change("CHG-str", 1))
        yield* store.put(change("CHG-err", 1))
        yield* store.put(change("CHG-tag", 1))
        const failing: DocumentStore.Service = {
          ...store,
          getKey: (key) =>
            key.includes("CHG-null")
              ? (Effect.fail(null) as never)
              : key.includes("CHG-str")
                ? (Effect.fail("boom") as never)
                : key.includes("CHG-err")
                  ? (Effect.fail(new Error("plain")) as never)
                  : Effect.fail(new DocumentStore.StoreError({ reason: "Unavailable", operation: "GetObject", key })),
        }
        const results = yield* Backfill.processObjects([
          { key: "changes/CHG-null.json" },
          { key: "changes/CHG-str.json" },
          { key: "changes/CHG-err.json" },
          { key: "changes/CHG-tag.json" },
        ]).pipe(withStore(failing))
        const storeError = new DocumentStore.StoreError({
          reason: "Unavailable",
          operation: "GetObject",
          key: "changes/CHG-tag.json",
        })
        expect(results.map((r) => r.failure)).toStrictEqual([
          { key: "changes/CHG-null.json", tag: "Error", message: "null", retryable: false },
          { key: "changes/CHG-str.json", tag: "Error", message: "boom", retryable: false },
          { key: "changes/CHG-err.json", tag: "Error", message: "plain", retryable: false },
          {
            key: "changes/CHG-tag.json",
            tag: "StoreError",
            message: storeError.message,
            retryable: storeError.retryable,
          },
        ])
      }),
    ),
  )

  it.effect("empty kind and customer lists filter nothing; describe says so", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        for (const id of ids(3)) yield* store.put(change(id, 1))
        expect(yield* Backfill.run({ kinds: [], customers: [] })).toMatchObject({ matched: 3, written: 3 })
        expect(Backfill.describe({ kinds: [], customers: [] })).toBe("every document")
        // Shards of more than one digit.
        expect(yield* Backfill.parseShard("12/20")).toStrictEqual({ index: 12, count: 20 })
        expect(Backfill.describe({ kinds: ["change", "announcement"] })).toBe("kind change|announcement")
      }),
    ),
  )

  it.effect(
    "requests: one fingerprints call per batch of documents (none for a batch of none), a kind filter asks nothing",
    () =>
      memory(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          for (const id of ids(250)) yield* store.put(change(id, 1))
          const recorded = recording(cache)
          yield* Backfill.run().pipe(withCache(recorded.service))
          expect(recorded.calls.map((refs) => refs.length)).toStrictEqual([100, 100, 50])
          // A batch of non-documents asks the cache nothing; the refs asked are the documents'.
          yield* store.putRaw("notes/a.txt", "a")
          yield* store.putRaw("notes/b.txt", "b")
          const others = recording(cache)
          yield* Backfill.run({ startAfter: "changes/CHG-249.json", batchSize: 1 }).pipe(withCache(others.service))
          expect(others.calls).toStrictEqual([])
          const mixed = recording(cache)
          yield* Backfill.processObjects([{ key: "notes/a.txt" }, { key: "changes/CHG-001.json" }]).pipe(
            withCache(mixed.service),
          )
          expect(mixed.calls).toStrictEqual([[{ kind: "change", id: "CHG-001" }]])
          // A kind filter: the other kind costs no request at all.
          const kinds = recording(cache)
          const counted = counting(store)
          const results = yield* Backfill.processObjects([{ key: "changes/CHG-001.json" }], {
            kinds: ["announcement"],
          }).pipe(withCache(kinds.service), withStore(counted.service))
          expect(results.map((r) => r.outcome)).toStrictEqual(["skipped"])
          expect(kinds.calls).toStrictEqual([])
          expect(counted.n).toStrictEqual({ heads: 0, reads: 0 })
        }),
      ),
  )

  it.effect(
    "processObjects: an unchanged object a filter excludes is skipped; a dry run tells unchanged from newer",
    () =>
      memory(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          const same = yield* store.put(change("CHG-same", 2))
          const older = yield* store.put(change("CHG-older", 1))
          yield* Backfill.run()
          yield* cache.put(change("CHG-older", 5), { s3Key: older.key })
          const excluded = yield* Backfill.processObjects([{ key: same.key, etag: same.etag }], {
            customers: ["initech"],
          })
          expect(excluded.map((r) => r.outcome)).toStrictEqual(["skipped"])
          const dry = yield* Backfill.processObjects([{ key: same.key }, { key: older.key }], { dryRun: true })
          expect(dry.map((r) => r.outcome)).toStrictEqual(["unchanged", "newer"])
          // DOCKET_DRY_RUN applies when the options say nothing: nothing is written.
          const fresh = yield* store.put(change("CHG-fresh", 1))
          const config = DocketConfig.make({ bucket: "memory", dryRun: true })
          const uncached = counting(store)
          const configured = yield* Backfill.processObjects([{ key: fresh.key }]).pipe(
            Effect.provideService(DocketConfig.DocketConfig, config),
            withStore(uncached.service),
          )
          expect(configured.map((r) => r.outcome)).toStrictEqual(["written"])
          // Nothing cached and no filter: no HEAD without an ETag, the body is read at once.
          expect(uncached.n).toStrictEqual({ heads: 0, reads: 1 })
          expect(yield* versionOf(cache, "CHG-fresh")).toBe(0)
        }),
      ),
  )
})

describe("Backfill edges: intervals, logs, listing errors", () => {
  it.effect("on a clock far from 0 a frozen run reports once at the end, elapsed 0, also with failures", () =>
    memory(
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.parse("2026-12-01T00:00:00Z"))
        const { store } = yield* services
        for (const id of ids(6)) yield* store.put(change(id, 1))
        yield* store.putRaw("changes/CHG-bad.json", "{")
        const seen = { checkpoints: [] as Array<string>, progress: [] as Array<Backfill.Progress> }
        const summary = yield* Backfill.run({
          batchSize: 2,
          concurrency: 1,
          onCheckpoint: (key) => Effect.sync(() => void seen.checkpoints.push(key)),
          onProgress: (p) => Effect.sync(() => void seen.progress.push(p)),
        })
        expect(summary).toMatchObject({ elapsedMs: 0, ratePerSecond: 0, failed: 1, written: 6 })
        expect(seen.checkpoints).toStrictEqual(["changes/CHG-000.json", Option.getOrThrow(summary.checkpoint)])
        expect(seen.progress.map((p) => p.processed)).toStrictEqual([1, 7])
        // A re-run settles everything from the batch comparison: still one report.
        seen.progress.length = 0
        yield* Backfill.run({ batchSize: 2, onProgress: (p) => Effect.sync(() => void seen.progress.push(p)) })
        expect(seen.progress.map((p) => p.processed)).toStrictEqual([2, 7])
      }),
    ),
  )

  it.effect("the checkpoint is handed over once per move: never for nothing done, never twice for one key", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        // CHG-000 fails first: no checkpoint at all. Then a bad object at the third place.
        yield* store.putRaw("changes/CHG-000.json", "{")
        for (const id of ids(6).slice(1)) yield* store.put(change(id, 1))
        const first: Array<string> = []
        yield* Backfill.run({
          batchSize: 1,
          concurrency: 1,
          checkpointEveryMs: 0,
          onCheckpoint: (key) => Effect.sync(() => void first.push(key)),
        })
        expect(first).toStrictEqual([])
        // Resumed after a checkpoint, the same: nothing moved, nothing is handed over.
        const resumed: Array<string> = []
        yield* Backfill.run({
          startAfter: "changes/A.json",
          batchSize: 1,
          checkpointEveryMs: 0,
          onCheckpoint: (key) => Effect.sync(() => void resumed.push(key)),
          source: {
            kind: "listing",
            objects: Stream.fromIterable([
              { key: "changes/CHG-000.json", etag: "e", size: 1, lastModified: undefined, metadata: Option.none() },
            ]),
          },
        })
        expect(resumed).toStrictEqual([])
        yield* store.put(change("CHG-000", 1))
        yield* store.putRaw("changes/CHG-002.json", "[]")
        const second: Array<string> = []
        yield* Backfill.run({
          batchSize: 1,
          concurrency: 1,
          checkpointEveryMs: 0,
          onCheckpoint: (key) => Effect.sync(() => void second.push(key)),
          onProgress: () => TestClock.adjust("10 millis"),
          progressEveryMs: 0,
        })
        expect(second).toStrictEqual(["changes/CHG-000.json", "changes/CHG-001.json"])
      }),
    ),
  )

  it.effect("with progressEveryMs 0 every report before the last shows more processed than the one before", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        for (const id of ids(4)) yield* store.put(change(id, 1))
        const processed: Array<number> = []
        yield* Backfill.run({
          batchSize: 2,
          concurrency: 1,
          progressEveryMs: 0,
          onProgress: (p) => Effect.sync(() => void processed.push(p.processed)),
        })
        expect(processed.at(-1)).toBe(4)
        const before = processed.slice(0, -1)
        expect(before.length).toBeGreaterThan(0)
        for (let i = 1; i < before.length; i++) expect(before[i]).toBeGreaterThan(before[i - 1] ?? 0)
      }),
    ),
  )

  it.effect("before the listing ends the total and the ETA are unknown, the rate is not", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        for (const id of ids(5)) yield* store.put(change(id, 1))
        const infos = yield* Stream.runCollect(store.list())
        const end = yield* Deferred.make<void>()
        const objects = Stream.concat(Stream.fromIterable(infos), Stream.drain(Stream.fromEffect(Deferred.await(end))))
        const early: Array<Backfill.Progress> = []
        const summary = yield* Backfill.run({
          batchSize: 1,
          concurrency: 1,
          progressEveryMs: 0,
          source: { kind: "listing", objects },
          onProgress: (p) =>
            Effect.gen(function* () {
              if (p.total === undefined) early.push(p)
              yield* TestClock.adjust("100 millis")
              if (p.processed >= 5) yield* Deferred.succeed(end, undefined)
            }),
        })
        expect(summary.total).toBe(5)
        expect(early.length).toBeGreaterThan(0)
        for (const p of early) {
          expect(p.etaMs).toBeUndefined()
          if (p.elapsedMs > 0) expect(p.ratePerSecond).toBeGreaterThan(0)
        }
        expect(early.some((p) => p.ratePerSecond > 0)).toBe(true)
      }),
    ),
  )

  it.effect(
    "log lines: a failed document, the comparison unavailable, a dry run's put, a checkpoint lost after a failed listing",
    () =>
      memory(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          yield* store.put(change("CHG-ok", 1))
          yield* store.putRaw("changes/CHG-bad.json", "{")
          const blind: DocumentCache.Service = {
            ...cache,
            fingerprints: () =>
              Effect.fail(new DocumentCache.CacheError({ reason: "Unavailable", operation: "fingerprints", key: "*" })),
          }
          const { lines } = yield* logsOf(Backfill.run({ dryRun: true }).pipe(withCache(blind)))
          const by = (operation: string) =>
            lines.filter((l) => l.fields.operation === operation).map((l) => [l.level, l.message, l.fields.outcome])
          expect(by("backfill.document")).toStrictEqual([["WARN", "backfill.document", "DocumentDecodeError"]])
          expect(lines.find((l) => l.fields.operation === "backfill.document")?.fields.key).toBe("changes/CHG-bad.json")
          expect(by("backfill.compare")).toStrictEqual([["WARN", "backfill.compare", "CacheError"]])
          expect(lines.find((l) => l.fields.operation === "backfill.compare")?.fields.keys).toBe(2)
          expect(by("backfill.put")).toStrictEqual([["INFO", "backfill.put (dry run)", "dry-run"]])

          // The listing fails after the checkpoint moved, and the checkpoint cannot be saved:
          // the run fails with the listing's error, the lost checkpoint is logged.
          const infos = yield* Stream.runCollect(store.list())
          const moved = yield* Deferred.make<void>()
          const objects = Stream.concat(
            Stream.filter(Stream.fromIterable(infos), (info) => !info.key.includes("bad")),
            Stream.flatMap(Stream.fromEffect(Deferred.await(moved)), () => Stream.fail(new Error("denied"))),
          )
          const failedRun = yield* logsOf(
            Effect.flip(
              Backfill.run({
                source: { kind: "listing", objects },
                batchSize: 1,
                progressEveryMs: 0,
                onProgress: (p) => (p.processed >= 1 ? Deferred.succeed(moved, undefined) : Effect.void),
                onCheckpoint: () => Effect.fail(new Error("ENOSPC")),
              }),
            ),
          )
          expect(failedRun.value).toMatchObject({ _tag: "BackfillError", reason: "ListingFailed" })
          const lost = failedRun.lines.filter((l) => l.fields.operation === "backfill.checkpoint")
          expect(lost.map((l) => [l.level, l.message, l.fields.outcome])).toStrictEqual([
            ["ERROR", "backfill.checkpoint", "CheckpointFailed"],
          ])
          expect(String(lost[0]?.fields.error)).toContain("ENOSPC")
        }),
      ),
  )

  it.effect("the bucket listing failing, or failing with nothing, is a typed ListingFailed", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        const broken: DocumentStore.Service = {
          ...store,
          list: () =>
            Stream.fail(new DocumentStore.StoreError({ reason: "AccessDenied", operation: "ListObjectsV2", key: "" })),
        }
        const error = yield* Effect.flip(Backfill.run().pipe(withStore(broken)))
        expect(error).toMatchObject({ _tag: "BackfillError", reason: "ListingFailed" })
        expect(error.message.startsWith("Listing the bucket failed: ")).toBe(true)
        const nothing = yield* Effect.flip(
          Backfill.run({ source: { kind: "listing", objects: Stream.fail(undefined) } }),
        )
        expect(nothing.message).toBe("Listing the bucket failed: undefined")
      }),
    ),
  )

  it.effect("a run is one Backfill.run span, a set of objects one Backfill.processObjects span", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        const { key } = yield* store.put(change("CHG-span", 1))
        exporter.reset()
        yield* Backfill.run()
        yield* Backfill.processObjects([{ key }])
        // Read while the SDK runs: it empties the exporter when it shuts down.
        const names = exporter.getFinishedSpans().map((s) => s.name)
        expect(names).toContain("Backfill.run")
        expect(names).toContain("Backfill.processObjects")
      }),
    ).pipe(Effect.provide(otel)),
  )
})

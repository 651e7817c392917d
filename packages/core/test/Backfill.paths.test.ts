/**
 * Backfill's paths the filter and bad-object properties do not reach (issue #11,
 * the mutation pass over backfill): shards, filter validation, decisions from a
 * HEAD without a body read, the cache's fingerprints unavailable, a newer cached
 * version, dry runs, failures and their retryability, the failure list's limit,
 * the checkpoint and progress intervals, rate and ETA, the listing failing, and
 * `processObjects` (the Lambda's step). Memory layers, TestClock; behaviour only.
 */
import * as Backfill from "@docket/core/Backfill"
import * as CacheEntry from "@docket/core/CacheEntry"
import * as Docket from "@docket/core/Docket"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as DocumentStore from "@docket/core/DocumentStore"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { change, counting, services } from "./support/Backfill.js"

const memory = <A, E>(self: Effect.Effect<A, E, Docket.Services>, settings = {}) =>
  Effect.provide(self, Docket.layerMemory(settings))

const ids = (n: number) => Array.from({ length: n }, (_, i) => `CHG-${String(i).padStart(3, "0")}`)

describe("Backfill paths", () => {
  it.effect("shards split a listing: every key in exactly one shard; I/N is parsed strictly", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        for (const id of ids(20)) yield* store.put(change(id, 1))
        const summaries = []
        for (let index = 0; index < 3; index++) {
          summaries.push(yield* Backfill.run({ shard: yield* Backfill.parseShard(` ${index}/3 `) }))
        }
        expect(summaries.map((s) => s.listed).reduce((a, b) => a + b, 0)).toBe(20)
        expect(summaries.map((s) => s.written).reduce((a, b) => a + b, 0)).toBe(20)
        expect(summaries.every((s) => s.listed > 0 && s.total === s.listed)).toBe(true)
        expect((yield* Backfill.run()).unchanged).toBe(20)
        for (const bad of ["3/3", "1/0", "-1/3", "a/b", "1/2/3", ""]) {
          const error = yield* Effect.flip(Backfill.parseShard(bad))
          expect(error, bad).toMatchObject({ _tag: "BackfillError", reason: "BadFilter" })
          expect(error.message, bad).toContain(`--shard ${JSON.stringify(bad)} must be I/N`)
        }
        expect(yield* Backfill.parseShard("0/1")).toStrictEqual({ index: 0, count: 1 })
      }),
    ),
  )

  it.effect(
    "an unchanged re-run leaves an entry near or past its expiry alone: expiresAt follows from the document's time",
    () =>
      memory(
        Effect.gen(function* () {
          const { store: base, cache } = yield* services
          const { service: store, n } = counting(base)
          const doc = change("CHG-exp", 1) // time 2026-11-30T22:00Z, retention 365 days
          yield* base.put(doc)
          yield* TestClock.setTime(Date.parse("2026-12-01T00:00:00Z"))
          const first = yield* Backfill.run().pipe(Effect.provideService(DocumentStore.DocumentStore, store))
          expect(first).toMatchObject({ written: 1, bodiesRead: 1 })
          const expiresAt = CacheEntry.expiresAt("2026-11-30T22:00:00Z", 365)
          const fingerprint = () =>
            Effect.map(cache.fingerprints([{ kind: "change", id: "CHG-exp" }]), (f) => f.map((x) => x.expiresAt))
          expect(yield* fingerprint()).toStrictEqual([expiresAt])
          // A day before expiry, then after it: a re-write would compute the same expiresAt, so neither run
          // reads a body or writes; reads already ignore the expired entry and fall back to S3.
          for (const at of [(expiresAt - 86_400) * 1000, (expiresAt + 86_400) * 1000]) {
            yield* TestClock.setTime(at)
            n.reads = 0
            const again = yield* Backfill.run().pipe(Effect.provideService(DocumentStore.DocumentStore, store))
            expect(again).toMatchObject({ unchanged: 1, written: 0, bodiesRead: 0 })
            expect(n.reads).toBe(0)
            expect(yield* fingerprint()).toStrictEqual([expiresAt])
          }
          expect(yield* cache.get("change", "CHG-exp")).toStrictEqual(Option.none())
        }),
      ),
  )

  it.effect("filters are validated before anything is listed: dates, range order, kinds, customer codes", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        const listed = counting(store)
        const fail = (options: Backfill.Options) =>
          Effect.flip(Backfill.run(options).pipe(Effect.provideService(DocumentStore.DocumentStore, listed.service)))
        const badFrom = yield* fail({ from: "yesterday" })
        expect(badFrom).toMatchObject({ reason: "BadRange" })
        expect(badFrom.message).toContain('--from "yesterday" is not an ISO-8601 date')
        expect((yield* fail({ to: "2026-13-01" })).message).toContain('--to "2026-13-01"')
        const equal = yield* fail({ from: "2026-01-01", to: "2026-01-01" })
        expect(equal).toMatchObject({ reason: "BadRange" })
        expect(equal.message).toContain("--from 2026-01-01 must be before --to 2026-01-01")
        const kind = yield* fail({ kinds: ["change", "memo"] })
        expect(kind).toMatchObject({ reason: "BadFilter" })
        expect(kind.message).toContain('Unknown kind "memo": expected one of change, announcement')
        const customer = yield* fail({ customers: ["acme", "Not A Code"] })
        expect(customer).toMatchObject({ reason: "BadFilter" })
        expect(customer.message).toContain('Customer code "Not A Code" does not match')
        expect(
          yield* Backfill.validate({ from: "2026-01-01", to: "2026-02-01" }, yield* DocumentKind.DocumentKinds),
        ).toStrictEqual({
          from: "2026-01-01T00:00:00.000Z",
          to: "2026-02-01T00:00:00.000Z",
        })
        expect(yield* Backfill.validate({}, yield* DocumentKind.DocumentKinds)).toStrictEqual({})
      }),
    ),
  )

  it.effect("time and customer filters decide from Docket's metadata with a HEAD, reading no body they exclude", () =>
    memory(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        yield* store.put(change("CHG-early", 1, "2026-01-10T00:00:00Z"))
        yield* store.put(change("CHG-late", 1, "2026-12-10T00:00:00Z"))
        yield* store.put(change("CHG-globex", 1, "2026-12-10T00:00:00Z", ["globex"]))
        // Under customers/acme/: its path adds the customer to the document's own.
        yield* store.putRaw(
          "customers/acme/changes/CHG-path.json",
          JSON.stringify(change("CHG-path", 1, "2026-12-10T00:00:00Z", ["globex"])),
        )
        const counted = counting(store)
        const summary = yield* Backfill.run({ from: "2026-06-01", customers: ["acme"] }).pipe(
          Effect.provideService(DocumentStore.DocumentStore, counted.service),
        )
        expect(summary).toMatchObject({ listed: 4, matched: 2, written: 2, failed: 0 })
        // The early and the globex documents carry metadata: excluded by their HEAD. The foreign object has none: read.
        expect(counted.n).toStrictEqual({ heads: 4, reads: 2 })
        expect(summary.bodiesRead).toBe(2)
        expect(Option.isSome(yield* cache.get("change", "CHG-late"))).toBe(true)
        expect(Option.isSome(yield* cache.get("change", "CHG-path"))).toBe(true)
        expect(Option.isNone(yield* cache.get("change", "CHG-globex"))).toBe(true)
        // A re-run settles the written ones from the cache's fingerprints (no HEAD for them), the rest by HEAD.
        const again = counting(store)
        const rerun = yield* Backfill.run({ from: "2026-06-01", customers: ["acme"] }).pipe(
          Effect.provideService(DocumentStore.DocumentStore, again.service),
        )
        expect(rerun).toMatchObject({ matched: 2, unchanged: 2, written: 0 })
        expect(again.n).toStrictEqual({ heads: 2, reads: 0 })
        // The customer filter on the cache's fingerprint counts the path's customer too; other customers skip.
        const globex = yield* Backfill.run({ customers: ["initech"] })
        expect(globex).toMatchObject({ matched: 0, unchanged: 0, written: 0 })
      }),
    ),
  )

  it.effect("without the cache's fingerprints every key goes the long way: nothing is skipped unseen", () =>
    memory(
      Effect.gen(function* () {
        const { store, cache } = yield* services
        for (const id of ids(5)) yield* store.put(change(id, 1))
        yield* Backfill.run()
        const blind: DocumentCache.Service = {
          ...cache,
          fingerprints: () =>
            Effect.fail(new DocumentCache.CacheError({ reason: "Unavailable", operation: "fingerprints", key: "*" })),
        }
        const counted = counting(store)
        const summary = yield* Backfill.run().pipe(
          Effect.provideService(DocumentCache.DocumentCache, blind),
          Effect.provideService(DocumentStore.DocumentStore, counted.service),
        )
        expect(summary).toMatchObject({ matched: 5, unchanged: 5, written: 0, failed: 0, bodiesRead: 5 })
        expect(counted.n.reads).toBe(5)
      }),
    ),
  )

  it.effect(
    "a newer version in the cache is left alone and counted; a dry run counts what it would do and writes nothing",
    () =>
      memory(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          const old = change("CHG-old", 1)
          const { key } = yield* store.put(old)
          yield* cache.put({ ...old, version: 2 }, { s3Key: key })
          const same = change("CHG-same", 3)
          const sameKey = (yield* store.put(same)).key
          yield* cache.put(same, { s3Key: sameKey })
          yield* store.put(change("CHG-new", 1))
          const dry = yield* Backfill.run({ dryRun: true })
          expect(dry).toMatchObject({ dryRun: true, matched: 3, written: 1, newerInCache: 1, unchanged: 1, failed: 0 })
          expect(yield* cache.get("change", "CHG-new")).toStrictEqual(Option.none())
          const real = yield* Backfill.run()
          expect(real).toMatchObject({ dryRun: false, matched: 3, written: 1, newerInCache: 1, unchanged: 1 })
          const kept = yield* cache.get("change", "CHG-old")
          expect(Option.isSome(kept) && kept.value._tag === "Cached" && kept.value.summary.version).toBe(2)
          expect(Backfill.failed(real)).toBe(false)
        }),
      ),
  )

  it.effect("failures are retryable or not by their cause; the summary keeps maxFailuresReported of them", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        for (const id of ids(4)) yield* store.put(change(id, 1))
        yield* store.putRaw("changes/CHG-bad.json", "{")
        const flaky: DocumentStore.Service = {
          ...store,
          getKey: (key) =>
            key.includes("CHG-00")
              ? Effect.fail(new DocumentStore.StoreError({ reason: "Throttled", operation: "GetObject", key }))
              : store.getKey(key),
        }
        const summary = yield* Backfill.run({ maxFailuresReported: 3 }).pipe(
          Effect.provideService(DocumentStore.DocumentStore, flaky),
        )
        expect(summary).toMatchObject({ listed: 5, failed: 5, written: 0, matched: 0, processed: 5 })
        expect(summary.failures).toHaveLength(3)
        expect(Backfill.failed(summary)).toBe(true)
        const all = yield* Backfill.run().pipe(Effect.provideService(DocumentStore.DocumentStore, flaky))
        const bad = all.failures.find((f) => f.key === "changes/CHG-bad.json")
        expect(bad).toMatchObject({ tag: "DocumentDecodeError", retryable: false })
        expect(bad?.message).toContain("malformed JSON")
        const throttled = all.failures.filter((f) => f.key !== "changes/CHG-bad.json")
        expect(throttled.map((f) => [f.tag, f.retryable])).toStrictEqual([
          ["StoreError", true],
          ["StoreError", true],
          ["StoreError", true],
          ["StoreError", true],
        ])
        expect(all.checkpoint).toStrictEqual(Option.none())
      }),
    ),
  )

  it.effect(
    "the checkpoint and the progress go out at most every interval, and once at the end; rate and ETA follow the clock",
    () =>
      memory(
        Effect.gen(function* () {
          const { store } = yield* services
          for (const id of ids(12)) yield* store.put(change(id, 1))
          const quiet = { checkpoints: [] as Array<string>, progress: [] as Array<Backfill.Progress> }
          // The clock does not move: only the first of each and the final ones.
          const frozen = yield* Backfill.run({
            batchSize: 2,
            concurrency: 1,
            onCheckpoint: (key) => Effect.sync(() => void quiet.checkpoints.push(key)),
            onProgress: (p) => Effect.sync(() => void quiet.progress.push(p)),
          })
          expect(quiet.checkpoints).toStrictEqual([Option.getOrThrow(frozen.checkpoint)])
          expect(quiet.progress).toHaveLength(1)
          expect(quiet.progress[0]).toMatchObject({ processed: 12, total: 12, elapsedMs: 0, ratePerSecond: 0 })
          expect(quiet.progress[0]?.etaMs).toBeUndefined()

          // Half a second per progress report (one per key): a checkpoint at most every second.
          const ticking = { checkpoints: [] as Array<string>, progress: [] as Array<Backfill.Progress> }
          const summary = yield* Backfill.run({
            batchSize: 2,
            concurrency: 1,
            checkpointEveryMs: 1000,
            progressEveryMs: 0,
            onCheckpoint: (key) => Effect.sync(() => void ticking.checkpoints.push(key)),
            onProgress: (p) =>
              Effect.zipRight(
                Effect.sync(() => void ticking.progress.push(p)),
                TestClock.adjust("500 millis"),
              ),
          })
          expect(ticking.checkpoints.length).toBeGreaterThan(2)
          expect(ticking.checkpoints.length).toBeLessThan(12)
          expect(new Set(ticking.checkpoints).size).toBe(ticking.checkpoints.length)
          expect(ticking.checkpoints.length).toBeGreaterThan(1)
          expect(ticking.checkpoints.at(-1)).toBe(Option.getOrThrow(summary.checkpoint))
          expect(ticking.progress.length).toBeGreaterThan(1)
          for (const p of ticking.progress) {
            expect(p.ratePerSecond).toBeCloseTo(p.elapsedMs > 0 ? (p.processed * 1000) / p.elapsedMs : 0)
            if (p.total !== undefined && p.ratePerSecond > 0)
              expect(p.etaMs).toBe(Math.round(((p.total - p.processed) * 1000) / p.ratePerSecond))
          }
          expect(summary.elapsedMs).toBeGreaterThan(0)
          expect(summary).toMatchObject({ completed: true, unchanged: 12, etaMs: 0 })
        }),
      ),
  )

  it.effect("a resumed run reports its start as the checkpoint until it moves; a failed listing is a typed error", () =>
    memory(
      Effect.gen(function* () {
        const { store } = yield* services
        yield* store.put(change("CHG-a", 1))
        const empty = yield* Backfill.run({ startAfter: "changes/CHG-z.json" })
        expect(empty).toMatchObject({ listed: 0, total: 0, processed: 0 })
        expect(empty.checkpoint).toStrictEqual(Option.some("changes/CHG-z.json"))
        const listing = yield* Effect.flip(
          Backfill.run({ source: { kind: "listing", objects: Stream.fail(new Error("denied")) } }),
        )
        expect(listing).toMatchObject({ _tag: "BackfillError", reason: "ListingFailed" })
        expect(listing.message).toBe("Listing the bucket failed: denied")
        const inventory = yield* Effect.flip(
          Backfill.run({ source: { kind: "inventory", objects: Stream.fail("no manifest") } }),
        )
        expect(inventory.message).toBe("Listing the inventory failed: no manifest")
        expect(Backfill.describe({})).toBe("every document")
        expect(
          Backfill.describe({ from: "2026-01-01", to: "2026-02-01", kinds: ["change"], customers: ["acme", "globex"] }),
        ).toBe("from 2026-01-01, to 2026-02-01, kind change, customer acme|globex")
      }),
    ),
  )

  it.effect(
    "processObjects: results in input order; without an ETag a cached object is compared by HEAD, no body read",
    () =>
      memory(
        Effect.gen(function* () {
          const { store, cache } = yield* services
          const a = change("CHG-pa", 1)
          const keyA = (yield* store.put(a)).key
          const b = change("CHG-pb", 1)
          const keyB = (yield* store.put(b)).key
          yield* store.putRaw("changes/CHG-pbad.json", "[]")
          const first = yield* Backfill.processObjects([{ key: keyB }, { key: "notes/readme.txt" }, { key: keyA }])
          expect(first.map((r) => [r.key, r.outcome])).toStrictEqual([
            [keyB, "written"],
            ["notes/readme.txt", "skipped"],
            [keyA, "written"],
          ])
          const counted = counting(store)
          const again = yield* Backfill.processObjects(
            [{ key: keyA }, { key: "changes/CHG-pbad.json" }, { key: keyB }],
            {
              concurrency: 0,
            },
          ).pipe(Effect.provideService(DocumentStore.DocumentStore, counted.service))
          expect(again.map((r) => [r.key, r.outcome, r.failure?.tag])).toStrictEqual([
            [keyA, "unchanged", undefined],
            ["changes/CHG-pbad.json", "failed", "DocumentDecodeError"],
            [keyB, "unchanged", undefined],
          ])
          expect(counted.n).toStrictEqual({ heads: 2, reads: 1 })
          // A kind filter: the other kind is skipped without a request.
          const kinds = yield* Backfill.processObjects([{ key: keyA }], { kinds: ["announcement"] })
          expect(kinds.map((r) => r.outcome)).toStrictEqual(["skipped"])
          expect(Option.isSome(yield* cache.get("change", "CHG-pa"))).toBe(true)
        }),
      ),
  )
})

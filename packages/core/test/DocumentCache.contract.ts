/**
 * The DocumentCache contract: one suite that every backend must pass (the
 * memory layer and DynamoDB Local), so the memory layer cannot drift.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Document from "../src/Document.js"
import { DocumentCache, type Query } from "../src/DocumentCache.js"

/** Options every backend honours. */
export interface ContractOptions {
  readonly retentionDays: number
  readonly dryRun: boolean
}

/** A fresh, empty cache per test. */
export type Fresh = (options: ContractOptions) => Layer.Layer<DocumentCache, unknown>

export const NOW = Date.parse("2026-06-15T12:00:00.000Z")
const day = 86_400_000
const iso = (millis: number) => new Date(millis).toISOString()

export const change = (
  id: string,
  version: number,
  customers: ReadonlyArray<string>,
  start: string,
  extra: Record<string, unknown> = {},
): Document.AnyDocument => ({
  kind: "change",
  id: `CHG-${id}`,
  version,
  title: `Change ${id}`,
  customers: [...customers],
  status: "approved",
  schedule: { start, end: start },
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  ...extra,
})

export const announcement = (
  id: string,
  version: number,
  customers: ReadonlyArray<string>,
  publishAt: string,
  extra: Record<string, unknown> = {},
): Document.AnyDocument => ({
  kind: "announcement",
  id: `ANN-${id}`,
  version,
  type: "general",
  title: `Announcement ${id}`,
  customers: [...customers],
  status: "published",
  publishAt,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  ...extra,
})

const s3Key = (doc: Document.AnyDocument) => `${doc.kind}s/${doc.id}.json`

const ids = (summaries: Iterable<Document.Summary>) => Array.from(summaries, (s) => s.id)

const all = (query: Query) =>
  Effect.flatMap(DocumentCache, (cache) => Stream.runCollect(cache.query(query))).pipe(Effect.map(Chunk.toArray))

const put = (doc: Document.AnyDocument, options: Partial<Parameters<DocumentCache["Type"]["put"]>[1]> = {}) =>
  Effect.flatMap(DocumentCache, (cache) => cache.put(doc, { s3Key: s3Key(doc), ...options }))

/** Runs the contract against `fresh`. */
export const contract = (name: string, fresh: Fresh) =>
  describe(`DocumentCache contract: ${name}`, () => {
    const run = <A, E>(self: Effect.Effect<A, E, DocumentCache>, options: Partial<ContractOptions> = {}) =>
      TestClock.setTime(NOW).pipe(
        Effect.zipRight(self),
        Effect.provide(fresh({ retentionDays: 30, dryRun: false, ...options })),
      )
    // With the real clock: retries of transaction conflicts sleep, and TestClock would never wake them.
    const runLive = <A, E>(self: Effect.Effect<A, E, DocumentCache>) =>
      Effect.provide(self, fresh({ retentionDays: 36500, dryRun: false }))

    it.effect("put applies the version rule: newer wins, same content is a no-op, older is stale", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const v1 = change("v", 1, ["acme"], "2026-06-20T10:00:00Z", { extraField: { kept: [1, 2] } })
          const first = yield* put(v1, { etag: '"e1"' })
          expect(first).toStrictEqual({ _tag: "Written", previous: Option.none() })
          const got = yield* cache.get("change", "CHG-v")
          expect(Option.isSome(got) && got.value._tag === "Cached" && got.value.document).toStrictEqual(v1)
          expect(Option.isSome(got) && got.value.etag).toBe('"e1"')
          const reordered = Object.fromEntries(Object.entries(v1).reverse()) as Document.AnyDocument
          expect((yield* put(reordered))._tag).toBe("Unchanged")
          const different = yield* Effect.flip(put({ ...v1, title: "Other" }))
          expect(different).toMatchObject({ _tag: "StaleWriteError", reason: "SameVersionDifferentContent" })
          const v2 = { ...v1, version: 2, title: "Second" }
          const second = yield* put(v2)
          expect(second._tag).toBe("Written")
          expect(
            second._tag === "Written" && Option.map(second.previous, (e) => e._tag === "Cached" && e.summary.version),
          ).toStrictEqual(Option.some(1))
          const older = yield* Effect.flip(put(v1))
          expect(older).toMatchObject({
            _tag: "StaleWriteError",
            reason: "OlderVersion",
            storedVersion: 2,
            attemptedVersion: 1,
          })
          expect(older.message).toContain("change/CHG-v")
        }),
      ),
    )

    it.effect("customers that leave a document leave the customer index, also past one transaction", () =>
      run(
        Effect.gen(function* () {
          const range = { from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" }
          const forCustomer = (customer: string) => all({ target: { _tag: "Customer", customer }, ...range })
          yield* put(change("c", 1, ["acme", "globex"], "2026-06-20T10:00:00Z"))
          yield* put(change("c", 2, ["globex", "initech"], "2026-06-20T10:00:00Z"))
          expect(ids(yield* forCustomer("acme"))).toStrictEqual([])
          expect(ids(yield* forCustomer("globex"))).toStrictEqual(["CHG-c"])
          expect((yield* forCustomer("initech")).map((s) => s.version)).toStrictEqual([2])
          // 150 customers need more than one 100-action transaction.
          const many = Array.from({ length: 150 }, (_, i) => `cust-${String(i).padStart(3, "0")}`)
          yield* put(change("big", 1, many, "2026-06-21T10:00:00Z"))
          for (const code of ["cust-000", "cust-099", "cust-149"]) {
            expect(ids(yield* forCustomer(code))).toStrictEqual(["CHG-big"])
          }
          yield* put(change("big", 2, ["cust-149", "acme"], "2026-06-21T10:00:00Z"))
          expect(ids(yield* forCustomer("cust-000"))).toStrictEqual([])
          expect(ids(yield* forCustomer("cust-120"))).toStrictEqual([])
          expect((yield* forCustomer("cust-149")).map((s) => s.version)).toStrictEqual([2])
          expect(ids(yield* forCustomer("acme"))).toStrictEqual(["CHG-big"])
          yield* put(change("big", 3, many, "2026-06-21T10:00:00Z"))
          const cache = yield* DocumentCache
          expect((yield* cache.delete("change", "CHG-big"))._tag).toBe("Deleted")
          for (const code of ["cust-000", "cust-149", "acme"]) {
            expect(ids(yield* forCustomer(code))).toStrictEqual([])
          }
          expect(ids(yield* all({ target: { _tag: "Time" }, ...range }))).toStrictEqual(["CHG-c"])
        }),
      ),
    )

    it.effect("delete is idempotent; a tombstone is returned as such, hidden from queries, and expires", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const doc = announcement("d", 1, ["acme"], "2026-06-20T10:00:00Z")
          yield* put(doc)
          expect((yield* cache.delete("announcement", "ANN-d"))._tag).toBe("Deleted")
          expect(yield* cache.delete("announcement", "ANN-d")).toStrictEqual({ _tag: "Absent" })
          expect(yield* cache.get("announcement", "ANN-d")).toStrictEqual(Option.none())
          yield* put(doc)
          const gone = yield* cache.tombstone("announcement", "ANN-d", { ttlSeconds: 60, sequencer: "00ab" })
          expect(gone._tag).toBe("Deleted")
          const tomb = yield* cache.get("announcement", "ANN-d")
          expect(Option.map(tomb, (e) => e._tag)).toStrictEqual(Option.some("Tombstone"))
          expect(Option.map(tomb, (e) => e.sequencer)).toStrictEqual(Option.some("000000000000000000000000000000AB"))
          const range = { from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" }
          expect(yield* all({ target: { _tag: "Customer", customer: "acme" }, ...range })).toStrictEqual([])
          expect(yield* all({ target: { _tag: "Time" }, ...range })).toStrictEqual([])
          yield* TestClock.adjust("61 seconds")
          expect(yield* cache.get("announcement", "ANN-d")).toStrictEqual(Option.none())
          expect(Option.isSome(yield* cache.get("announcement", "ANN-d", { includeExpired: true }))).toBe(true)
        }),
      ),
    )

    it.effect("conditional writes, sequencers and restore never clobber a newer state", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const v1 = change("k", 1, ["acme", "globex"], "2026-06-20T10:00:00Z")
          const v2 = change("k", 2, ["initech"], "2026-06-22T10:00:00Z")
          expect((yield* put(v1, { condition: { _tag: "Absent" }, sequencer: "0A" }))._tag).toBe("Written")
          expect(yield* Effect.flip(put(v2, { condition: { _tag: "Absent" } }))).toMatchObject({
            _tag: "ConditionFailedError",
            key: "change/CHG-k",
          })
          expect(yield* Effect.flip(put(v2, { condition: { _tag: "VersionIs", version: 5 } }))).toMatchObject({
            _tag: "ConditionFailedError",
          })
          const written = yield* put(v2, { condition: { _tag: "VersionIs", version: 1 } })
          if (written._tag !== "Written") throw new Error("expected Written")
          // A rollback to v1 only if v2 is still there.
          expect(
            yield* Effect.flip(cache.restore("change", "CHG-k", written.previous, { _tag: "VersionIs", version: 9 })),
          ).toMatchObject({ _tag: "ConditionFailedError" })
          yield* cache.restore("change", "CHG-k", written.previous, { _tag: "VersionIs", version: 2 })
          const back = yield* cache.get("change", "CHG-k")
          expect(Option.isSome(back) && back.value._tag === "Cached" && back.value.document).toStrictEqual(v1)
          expect(Option.map(back, (e) => e.sequencer)).toStrictEqual(Option.some("0000000000000000000000000000000A"))
          const range = { from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" }
          expect(ids(yield* all({ target: { _tag: "Customer", customer: "globex" }, ...range }))).toStrictEqual([
            "CHG-k",
          ])
          expect(ids(yield* all({ target: { _tag: "Customer", customer: "initech" }, ...range }))).toStrictEqual([])
          // Restoring "nothing" removes every item.
          yield* cache.restore("change", "CHG-k", Option.none(), { _tag: "VersionIs", version: 1 })
          expect(yield* cache.get("change", "CHG-k", { includeExpired: true })).toStrictEqual(Option.none())
          expect(yield* all({ target: { _tag: "Customer", customer: "acme" }, ...range })).toStrictEqual([])
          // Sequencers compare after left-padding: "ff" is before "0100".
          yield* put(v1, { condition: { _tag: "SequencerBefore", sequencer: "ff" }, sequencer: "ff" })
          expect(
            yield* Effect.flip(put(v2, { condition: { _tag: "SequencerBefore", sequencer: "0fe" }, sequencer: "0fe" })),
          ).toMatchObject({ _tag: "ConditionFailedError" })
          expect(
            (yield* put(v2, { condition: { _tag: "SequencerBefore", sequencer: "0100" }, sequencer: "0100" }))._tag,
          ).toBe("Written")
          expect(
            yield* Effect.flip(
              cache.tombstone("change", "CHG-k", {
                ttlSeconds: 60,
                sequencer: "00ff",
                condition: { _tag: "SequencerBefore", sequencer: "00ff" },
              }),
            ),
          ).toMatchObject({ _tag: "ConditionFailedError" })
          expect(
            (yield* cache.tombstone("change", "CHG-k", {
              ttlSeconds: 60,
              sequencer: "0101",
              condition: { _tag: "SequencerBefore", sequencer: "0101" },
            }))._tag,
          ).toBe("Deleted")
          expect(
            yield* Effect.flip(put(v2, { condition: { _tag: "SequencerBefore", sequencer: "0100" } })),
          ).toMatchObject({ _tag: "ConditionFailedError" })
          expect(yield* Effect.flip(cache.delete("change", "CHG-k", { condition: { _tag: "Absent" } }))).toMatchObject({
            _tag: "ConditionFailedError",
          })
          const bad = yield* Effect.flip(put(v2, { sequencer: "not-hex" }))
          expect(bad).toMatchObject({ _tag: "CacheError", reason: "Invalid", key: "change/CHG-k" })
          const badCondition = yield* Effect.flip(
            cache.tombstone("change", "CHG-k", {
              ttlSeconds: 60,
              condition: { _tag: "SequencerBefore", sequencer: "" },
            }),
          )
          expect(badCondition).toMatchObject({ _tag: "CacheError", reason: "Invalid" })
        }),
      ),
    )

    it.effect("expired documents are misses, excluded from queries, and an old range is incomplete", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const old = change("old", 1, ["acme"], iso(NOW - 31 * day))
          const fresh_ = change("new", 1, ["acme"], iso(NOW - 29 * day))
          yield* put(old)
          yield* put(fresh_)
          expect(yield* cache.get("change", "CHG-old")).toStrictEqual(Option.none())
          expect(Option.isSome(yield* cache.get("change", "CHG-old", { includeExpired: true }))).toBe(true)
          const query: Query = {
            target: { _tag: "Customer", customer: "acme" },
            from: iso(NOW - 40 * day),
            to: iso(NOW),
          }
          expect(ids(yield* all(query))).toStrictEqual(["CHG-new"])
          const page = yield* cache.page(query, { limit: 10 })
          expect(ids(page.items)).toStrictEqual(["CHG-new"])
          expect(page.complete).toBe(false)
          expect((yield* cache.page({ ...query, from: iso(NOW - 29 * day) }, { limit: 10 })).complete).toBe(true)
          // A write of an expired-looking older version is still stale: retention is not deletion.
          expect(yield* Effect.flip(put({ ...fresh_, version: 0 + 1, title: "x" }))).toMatchObject({
            _tag: "StaleWriteError",
          })
        }),
      ),
    )

    it.effect("queries: half-open ranges, kind filter, status across kinds, ordered by time then kind then id", () =>
      run(
        Effect.gen(function* () {
          const docs = [
            change("a", 1, ["acme"], "2026-07-01T00:00:00Z"),
            announcement("a", 1, ["acme", "globex"], "2026-07-01T00:00:00Z", { status: "scheduled" }),
            change("b", 1, ["globex"], "2026-07-31T23:59:59.999Z", { status: "scheduled" }),
            change("c", 1, ["acme"], "2026-08-01T00:00:00.000+00:00", { status: "scheduled" }),
            change("d", 1, ["acme"], "2026-09-01T02:00:00+02:00", { status: "scheduled" }),
            announcement("b", 1, ["acme"], "2026-09-15T00:00:00Z"),
          ]
          for (const doc of docs) yield* put(doc)
          const range = { from: "2026-07-01T00:00:00Z", to: "2026-09-01T00:00:00Z" }
          const time = yield* all({ target: { _tag: "Time" }, ...range })
          expect(time.map((s) => `${s.kind}:${s.id}`)).toStrictEqual([
            "announcement:ANN-a",
            "change:CHG-a",
            "change:CHG-b",
            "change:CHG-c",
          ])
          expect(time[1]).toStrictEqual({
            kind: "change",
            id: "CHG-a",
            version: 1,
            title: "Change a",
            status: "approved",
            customers: ["acme"],
            time: "2026-07-01T00:00:00.000Z",
          })
          expect(
            ids(
              yield* all({
                target: { _tag: "Time" },
                from: "2026-07-01T00:00:00.001Z",
                to: "2026-09-01T00:00:00.001Z",
              }),
            ),
          ).toStrictEqual(["CHG-b", "CHG-c", "CHG-d"])
          expect(
            ids(
              yield* all({
                target: { _tag: "Time" },
                from: "2026-07-01T00:00:00Z",
                to: "2026-08-31T22:00:00.000-02:00",
                kind: "change",
              }),
            ),
          ).toStrictEqual(["CHG-a", "CHG-b", "CHG-c"])
          expect(
            ids(
              yield* all({
                target: { _tag: "Customer", customer: "acme" },
                from: "2026-06-01T00:00:00Z",
                to: "2026-10-01T00:00:00Z",
                kind: "announcement",
              }),
            ),
          ).toStrictEqual(["ANN-a", "ANN-b"])
          expect(ids(yield* all({ target: { _tag: "Status", status: "scheduled" }, ...range }))).toStrictEqual([
            "ANN-a",
            "CHG-b",
            "CHG-c",
          ])
          expect(
            ids(yield* all({ target: { _tag: "Status", status: "scheduled" }, ...range, kind: "change" })),
          ).toStrictEqual(["CHG-b", "CHG-c"])
          expect(ids(yield* all({ target: { _tag: "Status", status: "approved" }, ...range }))).toStrictEqual(["CHG-a"])
        }),
      ),
    )

    it.effect(
      "pages resume exactly across buckets; bad cursors, ranges, kinds, statuses and limits are typed errors",
      () =>
        run(
          Effect.gen(function* () {
            const cache = yield* DocumentCache
            for (let i = 0; i < 9; i++) {
              yield* put(change(`p${i}`, 1, ["acme"], iso(Date.parse("2026-06-29T00:00:00Z") + i * 7 * day)))
            }
            const query: Query = { target: { _tag: "Time" }, from: "2026-06-01T00:00:00Z", to: "2026-09-01T00:00:00Z" }
            const expected = ids(yield* all(query))
            expect(expected.length).toBe(9)
            const seen: Array<string> = []
            let cursor: string | undefined
            let pages = 0
            do {
              // Bounded: a resume that repeats a page fails here instead of looping.
              expect(pages).toBeLessThan(5)
              const page = yield* cache.page(query, cursor === undefined ? { limit: 2 } : { limit: 2, cursor })
              seen.push(...ids(page.items))
              cursor = Option.getOrUndefined(page.cursor)
              if (cursor !== undefined) expect(cursor).toMatch(/^[A-Za-z0-9_.-]+$/)
              pages++
            } while (cursor !== undefined)
            expect(seen).toStrictEqual(expected)
            expect(pages).toBe(5)
            const first = yield* cache.page(query, { limit: 3 })
            const good = Option.getOrThrow(first.cursor)
            const [payload = "", mac = ""] = good.split(".")
            const flipped = `${payload.slice(0, 5)}${payload[5] === "A" ? "B" : "A"}${payload.slice(6)}.${mac}`
            for (const bad of ["garbage", "", good.slice(0, -4), flipped, `${payload}.${mac}x`, "a.b.c", "%%%.***"]) {
              const error = yield* Effect.flip(cache.page(query, { limit: 3, cursor: bad }))
              expect(error._tag).toBe("CursorError")
            }
            const foreign = yield* Effect.flip(cache.page({ ...query, kind: "change" }, { limit: 3, cursor: good }))
            expect(foreign).toMatchObject({ _tag: "CursorError" })
            expect(foreign.message).toContain("another query")
            const invalid = (q: Query, limit = 5) => Effect.flip(cache.page(q, { limit }))
            expect(yield* invalid({ ...query, from: query.to })).toMatchObject({
              _tag: "InvalidQueryError",
              reason: "BadRange",
            })
            expect(yield* invalid({ ...query, from: "last tuesday" })).toMatchObject({ reason: "BadRange" })
            expect(yield* invalid({ ...query, kind: "incident" })).toMatchObject({ reason: "UnknownKind" })
            expect(
              yield* invalid({ ...query, target: { _tag: "Status", status: "published" }, kind: "change" }),
            ).toMatchObject({ reason: "UnknownStatus" })
            expect(yield* invalid({ ...query, target: { _tag: "Status", status: "nope" } })).toMatchObject({
              reason: "UnknownStatus",
            })
            expect(yield* invalid({ ...query, target: { _tag: "Customer", customer: "ACME!" } })).toMatchObject({
              reason: "BadCustomer",
            })
            expect(yield* invalid(query, 0)).toMatchObject({ reason: "BadLimit" })
            const streamed = yield* Effect.flip(all({ ...query, to: query.from }))
            expect(streamed).toMatchObject({ _tag: "InvalidQueryError", reason: "BadRange" })
          }),
        ),
    )

    it.live("concurrent writers of one document: the newest version wins and the customer index matches it", () =>
      runLive(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const codes = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay"]
          const versions = Array.from({ length: 8 }, (_, i) =>
            change(
              "race",
              i + 1,
              [codes[i % codes.length] as string, codes[(i + 3) % codes.length] as string],
              "2026-06-20T10:00:00Z",
            ),
          )
          const outcomes = yield* Effect.forEach(versions, (doc) => Effect.either(put(doc)), {
            concurrency: "unbounded",
          })
          for (const outcome of outcomes) {
            if (outcome._tag === "Left") expect(outcome.left._tag).toBe("StaleWriteError")
          }
          const stored = yield* cache.get("change", "CHG-race")
          expect(Option.map(stored, (e) => (e._tag === "Cached" ? e.summary.version : 0))).toStrictEqual(Option.some(8))
          const range = { from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" }
          const last = versions[7] as Document.AnyDocument
          for (const code of codes) {
            const found = yield* all({ target: { _tag: "Customer", customer: code }, ...range })
            const expected = (last.customers as ReadonlyArray<string>).includes(code) ? [8] : []
            expect(found.map((s) => s.version)).toStrictEqual(expected)
          }
        }),
      ),
    )

    it.effect(
      "a write given a stale snapshot is decided again on what is there: it never lands over a newer state",
      () =>
        runLive(
          Effect.gen(function* () {
            const cache = yield* DocumentCache
            const v1 = change("snap", 1, ["acme", "globex"], "2026-06-20T10:00:00Z")
            const v2 = change("snap", 2, ["acme", "globex"], "2026-06-21T10:00:00Z")
            const v3 = change("snap", 3, ["initech"], "2026-06-22T10:00:00Z")
            const range = { from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" }
            const customer = (code: string) => all({ target: { _tag: "Customer", customer: code }, ...range })
            const sequencerOf = (snapshot: { readonly entry: Option.Option<{ readonly sequencer?: string }> }) =>
              Option.map(snapshot.entry, (e) => e.sequencer)
            const before = (sequencer: string) => ({ _tag: "SequencerBefore", sequencer }) as const

            const none = yield* cache.snapshot("change", "CHG-snap")
            expect([none.kind, none.id, none.entry, none.intent]).toStrictEqual([
              "change",
              "CHG-snap",
              Option.none(),
              Option.none(),
            ])
            expect((yield* put(v1, { condition: before("0A"), sequencer: "0A", seen: none }))._tag).toBe("Written")
            const old = yield* cache.snapshot("change", "CHG-snap")
            expect(sequencerOf(old)).toStrictEqual(Option.some("A".padStart(32, "0")))
            // The snapshot goes stale: a newer sequencer lands after it.
            expect((yield* put(v2, { condition: before("0C"), sequencer: "0C" }))._tag).toBe("Written")
            expect(yield* Effect.flip(put(v3, { condition: before("0B"), sequencer: "0B", seen: old }))).toMatchObject({
              _tag: "ConditionFailedError",
              key: "change/CHG-snap",
            })
            // A decision not to write is as of the snapshot, as a put's own read is as of that read.
            expect((yield* put(v1, { seen: old }))._tag).toBe("Unchanged")
            // A stale snapshot that would pass is decided again: the previous entry and the customers are v2's.
            const written = yield* put(v3, { condition: before("0D"), sequencer: "0D", seen: old })
            expect(written._tag === "Written" && Option.map(written.previous, (e) => e.sequencer)).toStrictEqual(
              Option.some("C".padStart(32, "0")),
            )
            expect(ids(yield* customer("globex"))).toStrictEqual([])
            expect(ids(yield* customer("initech"))).toStrictEqual(["CHG-snap"])
            const fresh = yield* cache.snapshot("change", "CHG-snap")
            expect((yield* put(v3, { seen: fresh }))._tag).toBe("Unchanged")
            // Tombstones alike: a stale snapshot never lets an older sequencer win; a fresh one is the read.
            expect(
              yield* Effect.flip(
                cache.tombstone("change", "CHG-snap", {
                  ttlSeconds: 60,
                  sequencer: "0B",
                  condition: before("0B"),
                  seen: old,
                }),
              ),
            ).toMatchObject({ _tag: "ConditionFailedError" })
            const gone = yield* cache.tombstone("change", "CHG-snap", {
              ttlSeconds: 60,
              sequencer: "0E",
              condition: before("0E"),
              seen: fresh,
            })
            expect(gone._tag === "Deleted" && gone.previous.sequencer).toBe("D".padStart(32, "0"))
            expect(yield* customer("initech")).toStrictEqual([])
            const tomb = yield* cache.snapshot("change", "CHG-snap")
            expect(Option.map(tomb.entry, (e) => [e._tag, e.sequencer])).toStrictEqual(
              Option.some(["Tombstone", "E".padStart(32, "0")]),
            )
            // A snapshot of another document is no guess about this one.
            const other = change("snap-other", 1, ["acme"], "2026-06-20T10:00:00Z")
            expect((yield* put(other, { seen: fresh }))._tag).toBe("Written")
            expect(ids(yield* customer("acme"))).toStrictEqual(["CHG-snap-other"])
            // An intent is in the snapshot, and a write given it is refused as without it.
            const next = { ...other, version: 2 }
            yield* cache.intend({
              kind: "change",
              id: other.id,
              writer: "w-snap",
              s3Key: s3Key(other),
              leaseExpiresAt: Date.now() + 60_000,
              change: { _tag: "Put", document: next, etag: '"e2"' },
            })
            const held = yield* cache.snapshot("change", other.id)
            expect(Option.map(held.intent, (i) => i.writer)).toStrictEqual(Option.some("w-snap"))
            expect(Option.map(held.entry, (e) => e._tag)).toStrictEqual(Option.some("Cached"))
            expect(yield* Effect.flip(put(next, { seen: held }))).toMatchObject({ _tag: "ConditionFailedError" })
          }),
        ),
    )

    it.effect("dry-run mutations report what they would do and change nothing", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const doc = change("dry", 1, ["acme"], "2026-06-20T10:00:00Z")
          expect((yield* put(doc))._tag).toBe("Written")
          expect(yield* cache.get("change", "CHG-dry", { includeExpired: true })).toStrictEqual(Option.none())
          expect(yield* cache.delete("change", "CHG-dry")).toStrictEqual({ _tag: "Absent" })
          yield* cache.tombstone("change", "CHG-dry", { ttlSeconds: 60 })
          expect(yield* cache.get("change", "CHG-dry", { includeExpired: true })).toStrictEqual(Option.none())
        }),
        { dryRun: true },
      ),
    )
  })

export { Either }

/**
 * The write protocol's part of the DocumentCache contract (DESIGN section 6):
 * intent, commit, clear and the intents index, on every backend.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Document from "../src/Document.js"
import { DocumentCache, type IntentRequest } from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import { change, type Fresh, NOW } from "./DocumentCache.contract.js"

const s3Key = (doc: Document.AnyDocument) => `${doc.kind}s/${doc.id}.json`
const etagOf = (doc: Document.AnyDocument) => DocumentStore.expectedEtag(doc)
const lease = NOW + 15_000

const putIntent = (doc: Document.AnyDocument, writer: string, leaseExpiresAt = lease): IntentRequest => ({
  kind: doc.kind,
  id: doc.id,
  writer,
  s3Key: s3Key(doc),
  leaseExpiresAt,
  change: { _tag: "Put", document: doc, etag: etagOf(doc) },
})

const commitPut = (doc: Document.AnyDocument, writer: string, previous = Option.none<never>()) =>
  Effect.flatMap(DocumentCache, (cache) =>
    cache.commit({
      kind: doc.kind,
      id: doc.id,
      writer,
      previous,
      change: { _tag: "Put", document: doc, s3Key: s3Key(doc), etag: etagOf(doc) },
    }),
  )

const customerIds = (code: string) =>
  Effect.flatMap(DocumentCache, (cache) =>
    Stream.runCollect(
      cache.query({
        target: { _tag: "Customer", customer: code },
        from: "2026-06-01T00:00:00Z",
        to: "2026-07-01T00:00:00Z",
      }),
    ),
  ).pipe(Effect.map((c) => Chunk.toArray(c).map((s) => `${s.id}@${s.version}`)))

/** Runs the protocol contract against `fresh`. */
export const protocolContract = (name: string, fresh: Fresh) =>
  describe(`DocumentCache protocol contract: ${name}`, () => {
    const run = <A, E>(self: Effect.Effect<A, E, DocumentCache>) =>
      TestClock.setTime(NOW).pipe(Effect.zipRight(self), Effect.provide(fresh({ retentionDays: 30, dryRun: false })))

    it.effect("an intent leaves the committed state as it was; the commit replaces it and its customer items", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const v1 = change("p1", 1, ["acme", "globex"], "2026-06-20T10:00:00Z")
          const v2 = { ...v1, version: 2, customers: ["acme", "initech"] }
          const created = yield* cache.intend(putIntent(v1, "w1"))
          expect(created).toStrictEqual({ _tag: "Recorded", previous: Option.none() })
          // Reads and queries see committed state only: nothing yet.
          expect(yield* cache.get("change", v1.id, { includeExpired: true })).toStrictEqual(Option.none())
          expect(yield* customerIds("acme")).toStrictEqual([])
          const inspected = yield* cache.inspect("change", v1.id)
          expect(Option.getOrThrow(inspected.intent)).toMatchObject({ writer: "w1", operation: "put", version: 1 })
          expect(yield* commitPut(v1, "w1")).toStrictEqual({ _tag: "Committed" })
          expect(yield* customerIds("globex")).toStrictEqual([`${v1.id}@1`])
          const recorded = yield* cache.intend(putIntent(v2, "w2"))
          expect(recorded._tag).toBe("Recorded")
          const previous = recorded._tag === "Recorded" ? recorded.previous : Option.none()
          expect(Option.map(previous, (e) => e._tag === "Cached" && e.etag)).toStrictEqual(Option.some(etagOf(v1)))
          expect(yield* customerIds("globex")).toStrictEqual([`${v1.id}@1`])
          expect(yield* customerIds("initech")).toStrictEqual([])
          yield* cache.commit({
            kind: "change",
            id: v1.id,
            writer: "w2",
            previous,
            change: { _tag: "Put", document: v2, s3Key: s3Key(v2), etag: etagOf(v2) },
          })
          expect(yield* customerIds("globex")).toStrictEqual([])
          expect(yield* customerIds("initech")).toStrictEqual([`${v1.id}@2`])
          const after = yield* cache.inspect("change", v1.id)
          expect(after.intent).toStrictEqual(Option.none())
          expect(Option.map(after.entry, (e) => e._tag === "Cached" && e.summary.version)).toStrictEqual(Option.some(2))
        }),
      ),
    )

    it.effect("an intent obeys the version rule and is blocked by any other intent", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const v2 = change("p2", 2, ["acme"], "2026-06-20T10:00:00Z")
          yield* cache.intend(putIntent(v2, "w1"))
          yield* commitPut(v2, "w1")
          const older = yield* Effect.flip(cache.intend(putIntent({ ...v2, version: 1 }, "w2")))
          expect(older).toMatchObject({ _tag: "StaleWriteError", reason: "OlderVersion", storedVersion: 2 })
          const other = yield* Effect.flip(cache.intend(putIntent({ ...v2, title: "other" }, "w2")))
          expect(other).toMatchObject({ _tag: "StaleWriteError", reason: "SameVersionDifferentContent" })
          const same = yield* cache.intend(putIntent(v2, "w2"))
          expect(same._tag).toBe("Unchanged")
          const v3 = { ...v2, version: 3 }
          expect((yield* cache.intend(putIntent(v3, "w3")))._tag).toBe("Recorded")
          const blocked = yield* cache.intend(putIntent({ ...v2, version: 4 }, "w4"))
          expect(blocked).toMatchObject({ _tag: "Blocked", intent: { writer: "w3", version: 3 } })
          const blockedDelete = yield* cache.intend({ ...putIntent(v2, "w5"), change: { _tag: "Delete" } })
          expect(blockedDelete._tag).toBe("Blocked")
          yield* cache.clearIntent("change", v2.id, "w3")
          expect((yield* cache.intend(putIntent({ ...v2, version: 4 }, "w4")))._tag).toBe("Recorded")
        }),
      ),
    )

    it.effect("every other write refuses a document with an intent; a cleared intent-only item is absent again", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const v1 = change("p3", 1, ["acme"], "2026-06-20T10:00:00Z")
          yield* cache.intend({ ...putIntent(v1, "w1"), change: { _tag: "Delete" } })
          const refill = yield* Effect.flip(cache.put(v1, { s3Key: s3Key(v1), condition: { _tag: "Absent" } }))
          expect(refill).toMatchObject({ _tag: "ConditionFailedError", condition: "no write intent" })
          expect((yield* Effect.flip(cache.put(v1, { s3Key: s3Key(v1) })))._tag).toBe("ConditionFailedError")
          expect((yield* Effect.flip(cache.tombstone("change", v1.id, { ttlSeconds: 60 })))._tag).toBe(
            "ConditionFailedError",
          )
          expect((yield* Effect.flip(cache.delete("change", v1.id)))._tag).toBe("ConditionFailedError")
          // Another writer's clear does nothing.
          yield* cache.clearIntent("change", v1.id, "w2")
          expect(Option.isSome((yield* cache.inspect("change", v1.id)).intent)).toBe(true)
          yield* cache.clearIntent("change", v1.id, "w1")
          expect(yield* cache.inspect("change", v1.id)).toStrictEqual({ entry: Option.none(), intent: Option.none() })
          const filled = yield* cache.put(v1, { s3Key: s3Key(v1), condition: { _tag: "Absent" } })
          expect(filled._tag).toBe("Written")
        }),
      ),
    )

    it.effect("a commit needs its writer's intent, or finds the same change committed already", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const v1 = change("p4", 1, ["acme"], "2026-06-20T10:00:00Z")
          yield* cache.intend(putIntent(v1, "w1"))
          const stranger = yield* Effect.flip(commitPut(v1, "w2"))
          expect(stranger).toMatchObject({ _tag: "ConditionFailedError", operation: "commit" })
          expect(yield* commitPut(v1, "w1")).toStrictEqual({ _tag: "Committed" })
          // A resolver committed it first: the writer's own commit finds it done.
          expect(yield* commitPut(v1, "w1")).toStrictEqual({ _tag: "AlreadyCommitted" })
          // A delete: intent, then a tombstone commit that takes the customer items away.
          const recorded = yield* cache.intend({ ...putIntent(v1, "w3"), change: { _tag: "Delete" } })
          const previous = recorded._tag === "Recorded" ? recorded.previous : Option.none()
          expect(Option.isSome(previous)).toBe(true)
          yield* cache.commit({
            kind: "change",
            id: v1.id,
            writer: "w3",
            previous,
            change: { _tag: "Delete", ttlSeconds: 600 },
          })
          expect(yield* customerIds("acme")).toStrictEqual([])
          const entry = yield* cache.get("change", v1.id)
          expect(Option.map(entry, (e) => e._tag)).toStrictEqual(Option.some("Tombstone"))
        }),
      ),
    )

    it.effect(
      "an intent's retry by its own writer records again (a lost answer), never blocked by itself; a stranger's commit names the writer it lacks",
      () =>
        run(
          Effect.gen(function* () {
            const cache = yield* DocumentCache
            const v1 = change("p6", 1, ["acme"], "2026-06-20T10:00:00Z")
            expect((yield* cache.intend(putIntent(v1, "w1")))._tag).toBe("Recorded")
            // The same request again (its first answer lost): recorded, not blocked by its own intent.
            expect((yield* cache.intend(putIntent(v1, "w1", lease + 1000)))._tag).toBe("Recorded")
            const stranger = yield* Effect.flip(commitPut(v1, "w2"))
            expect(stranger).toMatchObject({ _tag: "ConditionFailedError", condition: "intent of writer w2" })
            expect(yield* commitPut(v1, "w1")).toStrictEqual({ _tag: "Committed" })
          }),
        ),
    )

    it.effect(
      "a commit finds its change committed already only for that exact change: same version and ETag, or a tombstone for a delete",
      () =>
        run(
          Effect.gen(function* () {
            const cache = yield* DocumentCache
            const v1 = change("p7", 1, ["acme"], "2026-06-20T10:00:00Z")
            yield* cache.intend(putIntent(v1, "w1"))
            yield* commitPut(v1, "w1")
            // Same version, other ETag (other content): not this commit's change.
            const otherEtag = yield* Effect.flip(
              cache.commit({
                kind: v1.kind,
                id: v1.id,
                writer: "w2",
                previous: Option.none(),
                change: { _tag: "Put", document: v1, s3Key: s3Key(v1), etag: '"other-etag"' },
              }),
            )
            expect(otherEtag).toMatchObject({ _tag: "ConditionFailedError", operation: "commit" })
            // Another version with the same ETag string: not it either.
            const otherVersion = yield* Effect.flip(
              cache.commit({
                kind: v1.kind,
                id: v1.id,
                writer: "w2",
                previous: Option.none(),
                change: { _tag: "Put", document: { ...v1, version: 2 }, s3Key: s3Key(v1), etag: etagOf(v1) },
              }),
            )
            expect(otherVersion).toMatchObject({ _tag: "ConditionFailedError", operation: "commit" })
            // A delete's commit over a cached document that no intent of its writer guards: refused.
            const deleteOverCached = yield* Effect.flip(
              cache.commit({
                kind: v1.kind,
                id: v1.id,
                writer: "w3",
                previous: Option.none(),
                change: { _tag: "Delete", ttlSeconds: 600 },
              }),
            )
            expect(deleteOverCached).toMatchObject({ _tag: "ConditionFailedError", operation: "commit" })
            // The delete done: its commit again (a retry) finds it done; a put's commit over the tombstone is refused.
            const recorded = yield* cache.intend({ ...putIntent(v1, "w4"), change: { _tag: "Delete" } })
            const previous = recorded._tag === "Recorded" ? recorded.previous : Option.none()
            const del = {
              kind: v1.kind,
              id: v1.id,
              writer: "w4",
              previous,
              change: { _tag: "Delete", ttlSeconds: 600 },
            } as const
            expect(yield* cache.commit(del)).toStrictEqual({ _tag: "Committed" })
            expect(yield* cache.commit(del)).toStrictEqual({ _tag: "AlreadyCommitted" })
            const putOverTombstone = yield* Effect.flip(commitPut(v1, "w5"))
            expect(putOverTombstone).toMatchObject({ _tag: "ConditionFailedError", operation: "commit" })
          }),
        ),
    )

    it.effect(
      "an intent is recorded as what it is about (a delete as a delete, a put with its version and ETag); a change that is neither is refused and changes nothing",
      () =>
        run(
          Effect.gen(function* () {
            const cache = yield* DocumentCache
            const v1 = change("p6", 1, ["acme"], "2026-06-20T10:00:00Z")
            yield* cache.intend(putIntent(v1, "w1"))
            yield* commitPut(v1, "w1")
            const intentOf = (id: string) =>
              Effect.map(cache.inspect("change", id), (s) => Option.getOrUndefined(s.intent))
            // A delete intent reads back as a delete: no version, no ETag.
            expect((yield* cache.intend({ ...putIntent(v1, "w2"), change: { _tag: "Delete" } }))._tag).toBe("Recorded")
            expect(yield* intentOf(v1.id)).toStrictEqual({
              writer: "w2",
              operation: "delete",
              s3Key: s3Key(v1),
              leaseExpiresAt: lease,
            })
            yield* cache.clearIntent("change", v1.id, "w2")
            const v2 = { ...v1, version: 2 }
            expect((yield* cache.intend(putIntent(v2, "w3")))._tag).toBe("Recorded")
            expect(yield* intentOf(v1.id)).toStrictEqual({
              writer: "w3",
              operation: "put",
              version: 2,
              etag: etagOf(v2),
              s3Key: s3Key(v1),
              leaseExpiresAt: lease,
            })
            yield* cache.clearIntent("change", v1.id, "w3")
            // Neither a put nor a delete: refused (never taken for a delete), nothing recorded.
            for (const bad of [{}, { _tag: "" }, { _tag: "delete" }]) {
              const refused = yield* Effect.flip(cache.intend({ ...putIntent(v1, "w4"), change: bad as never }))
              expect(refused).toMatchObject({ _tag: "CacheError", reason: "Invalid", operation: "intend" })
              expect(yield* intentOf(v1.id)).toBeUndefined()
            }
            // A commit of such a change is refused too: the intent stays, the committed v1 too.
            yield* cache.intend({ ...putIntent(v1, "w5"), change: { _tag: "Delete" } })
            for (const bad of [{ ttlSeconds: 600 }, { _tag: "", ttlSeconds: 600 }]) {
              const refused = yield* Effect.flip(
                cache.commit({
                  kind: "change",
                  id: v1.id,
                  writer: "w5",
                  previous: Option.none(),
                  change: bad as never,
                }),
              )
              expect(refused).toMatchObject({ _tag: "CacheError", reason: "Invalid", operation: "commit" })
              expect((yield* intentOf(v1.id))?.writer).toBe("w5")
              const entry = yield* cache.get("change", v1.id)
              expect(Option.map(entry, (e) => (e._tag === "Cached" ? e.summary.version : e._tag))).toStrictEqual(
                Option.some(1),
              )
            }
          }),
        ),
    )

    it.effect("the intents index lists exactly the intents whose lease expired, never committed ones", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* DocumentCache
          const a = change("p5a", 1, ["acme"], "2026-06-20T10:00:00Z")
          const b = change("p5b", 1, ["acme"], "2026-06-20T10:00:00Z")
          const c = change("p5c", 1, ["acme"], "2026-06-20T10:00:00Z")
          yield* cache.intend(putIntent(a, "wa", NOW + 1_000))
          yield* cache.intend(putIntent(b, "wb", NOW + 60_000))
          yield* cache.intend(putIntent(c, "wc", NOW + 1_000))
          yield* commitPut(c, "wc")
          const listed = (expiredBefore: number) =>
            Effect.map(Stream.runCollect(cache.intents({ expiredBefore })), (chunk) =>
              Chunk.toArray(chunk)
                .map((p) => `${p.id}:${p.intent.writer}`)
                .sort(),
            )
          expect(yield* listed(NOW)).toStrictEqual([])
          expect(yield* listed(NOW + 1_001)).toStrictEqual([`${a.id}:wa`])
          expect(yield* listed(NOW + 60_001)).toStrictEqual([`${a.id}:wa`, `${b.id}:wb`])
        }),
      ),
    )
  })

/**
 * The DocumentStore contract: every backend (memory, S3 on the emulator) must
 * pass it, so the memory layer cannot drift from S3.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Arbitraries from "../src/Arbitraries.js"
import type * as Document from "../src/Document.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as ObjectCodec from "../src/internal/objectCodec.js"

/** What a backend under test provides besides the port. */
export interface Backend {
  readonly layer: Layer.Layer<DocumentStore.DocumentStore, never, never>
  /** Writes raw bytes at a key, bypassing Docket (a foreign writer). */
  readonly putRaw: (key: string, body: string | Uint8Array) => Effect.Effect<void>
  /** The prefix the layer was built with: contains a space, a `+` and unicode. */
  readonly prefix: string
  /** The layer's page size: small, to exercise pagination. */
  readonly pageSize: number
  /** The layer's object size limit. */
  readonly maxObjectBytes: number
  /**
   * Whether listings follow S3's UTF-8 binary key order for non-ASCII keys.
   * fauxqs sorts with `localeCompare` and pages with UTF-16 comparisons, so
   * only ASCII-lowercase names are order-checked against it.
   */
  readonly utf8Order: boolean
  /**
   * Whether the store enforces conditional puts and deletes (AWS S3 and the
   * memory store do; fauxqs 1.9.2 accepts the headers and ignores them).
   */
  readonly enforcesConditions: boolean
}

/** The prefix the contract needs: keys with spaces, `+` and unicode must work. */
export const contractPrefix = "tenant a+b/é文/"

const sample = (seed: number, options: Arbitraries.Options = {}) =>
  fc.sample(Arbitraries.document({ maxTextLength: 40, ...options }), { numRuns: 1, seed })[0]!

export const contract = (name: string, backend: () => Effect.Effect<Backend>) =>
  describe(`DocumentStore contract (${name})`, () => {
    // Resolved once per file: the layer and the raw writer share the same bucket.
    let resolved: Backend | undefined
    const get = Effect.suspend(() => (resolved ? Effect.succeed(resolved) : backend())).pipe(
      Effect.tap((b) => {
        resolved = b
      }),
    )

    layer(DocumentStoreFrom(get))((it) => {
      it.effect("put then get returns the same document, extra fields and unicode kept, metadata on HEAD", () =>
        Effect.gen(function* () {
          const store = yield* DocumentStore.DocumentStore
          const registry = DocumentKind.defaultRegistry
          const document = { ...sample(1), title: "Prüfung ✓ 日本", "x-extra": { nested: [1, "ü"] } }
          const written = yield* store.put(document)
          expect(written.key).toBe(
            `${contractPrefix}${document.kind === "change" ? "changes" : "announcements"}/${document.id}.json`,
          )
          // WriteThrough relies on this: a single-part put's ETag is the MD5 of the body.
          expect(written.etag).toBe(DocumentStore.expectedEtag(document))
          const read = yield* store.get(document.kind, document.id)
          expect(Option.map(read, (r) => r.document)).toEqual(Option.some(document))
          expect(Option.map(read, (r) => r.etag)).toEqual(Option.some(written.etag))
          const info = yield* store.head(written.key)
          expect(Option.isSome(info)).toBe(true)
          const value = Option.getOrThrow(info)
          expect(value.etag).toBe(written.etag)
          expect(value.size).toBe(Buffer.byteLength(JSON.stringify(document)))
          expect(value.metadata).toEqual(Option.some(ObjectCodec.metadataOf(registry, document)))
          const byKey = yield* store.getKey(written.key)
          expect(Option.map(byKey, (r) => r.document)).toEqual(Option.some(document))
        }),
      )

      it.effect("conditional puts and deletes: If-None-Match * creates, If-Match needs the current ETag", () =>
        Effect.gen(function* () {
          const store = yield* DocumentStore.DocumentStore
          const { enforcesConditions } = yield* get
          const base = sample(7)
          const v1 = {
            ...base,
            id: base.kind === "change" ? "CHG-conditional" : "ANN-conditional",
          } as Document.AnyDocument
          const v2 = { ...v1, version: v1.version + 1 } as Document.AnyDocument
          const first = yield* store.put(v1, { ifNoneMatch: "*" })
          const again = yield* Effect.either(store.put(v1, { ifNoneMatch: "*" }))
          const wrongMatch = yield* Effect.either(store.put(v2, { ifMatch: "0123456789abcdef0123456789abcdef" }))
          const wrongDelete = yield* Effect.either(
            store.delete(v1.kind, v1.id, { ifMatch: "0123456789abcdef0123456789abcdef" }),
          )
          if (enforcesConditions) {
            const failures = [Either.getLeft(again), Either.getLeft(wrongMatch), Either.getLeft(wrongDelete)]
            for (const failure of failures) {
              expect(Option.isSome(failure) && DocumentStore.isPreconditionFailed(failure.value)).toBe(true)
            }
            // Nothing was written by a failed condition.
            const head = yield* store.head(first.key)
            expect(Option.map(head, (h) => h.etag)).toStrictEqual(Option.some(first.etag))
            const second = yield* store.put(v2, { ifMatch: first.etag })
            yield* store.delete(v1.kind, v1.id, { ifMatch: second.etag })
          } else {
            // Accepted and ignored (fauxqs 1.9.2): the intent is what protects a write there.
            expect([Either.isRight(again), Either.isRight(wrongMatch), Either.isRight(wrongDelete)]).toStrictEqual([
              true,
              true,
              true,
            ])
          }
          expect(yield* store.head(first.key)).toStrictEqual(Option.none())
          // A conditional delete of a missing object is a delete done already.
          yield* store.delete(v1.kind, v1.id, { ifMatch: first.etag })
        }),
      )

      it.effect("a put or delete starting at or past its deadline fails with Timeout and changes nothing", () =>
        Effect.gen(function* () {
          const store = yield* DocumentStore.DocumentStore
          const base = sample(11)
          const document = {
            ...base,
            id: base.kind === "change" ? "CHG-deadline" : "ANN-deadline",
          } as Document.AnyDocument
          const key = store.keyOf(document.kind, document.id)
          const now = yield* Clock.currentTimeMillis
          const late = yield* Effect.flip(store.put(document, { ifNoneMatch: "*", deadline: now }))
          expect(late).toMatchObject({ _tag: "StoreError", reason: "Timeout", operation: "PutObject", key })
          expect(yield* store.head(key)).toStrictEqual(Option.none())
          const written = yield* store.put(document, { ifNoneMatch: "*", deadline: now + 60_000 })
          const lateDelete = yield* Effect.flip(store.delete(document.kind, document.id, { deadline: now - 1 }))
          expect(lateDelete).toMatchObject({ _tag: "StoreError", reason: "Timeout", operation: "DeleteObject", key })
          expect(Option.map(yield* store.head(key), (h) => h.etag)).toStrictEqual(Option.some(written.etag))
          yield* store.delete(document.kind, document.id, { ifMatch: written.etag, deadline: now + 60_000 })
          expect(yield* store.head(key)).toStrictEqual(Option.none())
        }),
      )

      it.effect("missing objects: get and head are None, delete is idempotent", () =>
        Effect.gen(function* () {
          const store = yield* DocumentStore.DocumentStore
          expect(yield* store.get("change", "CHG-missing")).toEqual(Option.none())
          expect(yield* store.head(store.keyOf("change", "CHG-missing"))).toEqual(Option.none())
          yield* store.delete("change", "CHG-missing")
          const document = sample(2)
          yield* store.put(document)
          yield* store.delete(document.kind, document.id)
          yield* store.delete(document.kind, document.id)
          expect(yield* store.get(document.kind, document.id)).toEqual(Option.none())
        }),
      )

      it.effect("list pages through everything under a prefix in UTF-8 order and resumes after a key", () =>
        Effect.gen(function* () {
          const store = yield* DocumentStore.DocumentStore
          const { pageSize, putRaw, utf8Order } = yield* get
          const folder = "listing/"
          const names = ["a", "b", "c", "d0", "e", "f", "g"].concat(
            utf8Order ? ["a b", "a+b", "é", "Z", "文", "😀", "~"] : [],
          )
          for (const n of names) yield* putRaw(`${contractPrefix}${folder}${n}.json`, "{}")
          expect(names.length).toBeGreaterThan(pageSize * 2)
          const all = Chunk.toReadonlyArray(yield* Stream.runCollect(store.list({ prefix: folder })))
          const keys = all.map((o) => o.key)
          const expected = names.map((n) => `${contractPrefix}${folder}${n}.json`).sort(ObjectCodec.compareKeys)
          expect(keys).toEqual(expected)
          expect(all.every((o) => o.size === 2 && o.metadata._tag === "None")).toBe(true)
          const resumed = yield* Stream.runCollect(store.list({ prefix: folder, startAfter: expected[3]! }))
          expect(Chunk.toReadonlyArray(resumed).map((o) => o.key)).toEqual(expected.slice(4))
        }),
      )

      it.effect("malformed JSON, schema violations and a body of another id are decode errors naming the key", () =>
        Effect.gen(function* () {
          const store = yield* DocumentStore.DocumentStore
          const { putRaw } = yield* get
          const bad = `${contractPrefix}changes/CHG-bad.json`
          yield* putRaw(bad, '{"kind":"change",')
          const malformed = yield* Effect.either(store.getKey(bad))
          expect(Either.isLeft(malformed)).toBe(true)
          const e1 = Either.getLeft(malformed).pipe(Option.getOrThrow) as DocumentKind.DocumentDecodeError
          expect(e1._tag).toBe("DocumentDecodeError")
          expect(e1.reason).toBe("MalformedJson")
          expect(e1.message).toContain(bad)

          const violating = `${contractPrefix}changes/CHG-violating.json`
          const document = sample(3, { ids: ["CHG-violating", "ANN-violating"] })
          yield* putRaw(violating, JSON.stringify({ ...document, kind: "change", id: "CHG-violating", version: 0 }))
          const e2 = yield* Effect.flip(store.get("change", "CHG-violating"))
          expect(e2._tag).toBe("DocumentDecodeError")
          expect((e2 as DocumentKind.DocumentDecodeError).reason).toBe("SchemaViolation")
          expect(e2.message).toContain(violating)
          expect(e2.message).toContain('"version"')

          const other = sample(4) as Document.AnyDocument
          const elsewhere = `${contractPrefix}${other.kind === "change" ? "changes" : "announcements"}/${other.kind === "change" ? "CHG" : "ANN"}-elsewhere.json`
          yield* putRaw(elsewhere, JSON.stringify(other))
          const e3 = yield* Effect.flip(store.getKey(elsewhere))
          expect((e3 as DocumentKind.DocumentDecodeError).reason).toBe("KindMismatch")
        }),
      )

      it.effect("objects over the size limit fail with TooLarge on put and on get", () =>
        Effect.gen(function* () {
          const store = yield* DocumentStore.DocumentStore
          const { putRaw, maxObjectBytes } = yield* get
          const big = { ...sample(5), description: "x".repeat(maxObjectBytes) }
          const e1 = yield* Effect.flip(store.put(big))
          expect(e1).toMatchObject({ _tag: "StoreError", reason: "TooLarge" })
          const key = `${contractPrefix}changes/CHG-huge.json`
          yield* putRaw(key, "x".repeat(maxObjectBytes + 1))
          const e2 = yield* Effect.flip(store.getKey(key))
          expect(e2).toMatchObject({ _tag: "StoreError", reason: "TooLarge", key })
          expect(e2.message).toContain("CHG-huge")
        }),
      )
    })
  })

/** The port's layer from a lazily built backend. */
const DocumentStoreFrom = (backend: Effect.Effect<Backend>) => Layer.unwrapEffect(Effect.map(backend, (b) => b.layer))

/** Metadata survives any ASCII-unsafe values (S3 metadata is US-ASCII only). */
export const metadataRoundTrip = fc.property(
  fc.record({
    kind: fc.string({ unit: "grapheme", minLength: 1 }),
    id: fc.string({ unit: "grapheme", minLength: 1 }),
    version: fc.integer({ min: 1 }),
    time: fc.string({ unit: "grapheme" }),
    customers: fc.array(fc.string({ unit: "grapheme", minLength: 1 }), { maxLength: 4 }),
    status: fc.string({ unit: "grapheme" }),
  }),
  (metadata) => {
    const encoded = ObjectCodec.encodeMetadata(metadata)
    expect(Object.values(encoded).every((v) => /^[\x20-\x7e]*$/.test(v))).toBe(true)
    expect(ObjectCodec.decodeMetadata(encoded)).toEqual(Option.some(metadata))
  },
)

import { PassThrough } from "node:stream"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3 from "../src/DocumentStore/S3.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as ObjectCodec from "../src/internal/objectCodec.js"
import { contract, contractPrefix, metadataRoundTrip } from "./DocumentStore.contract.js"

const pageSize = 3
const maxObjectBytes = 4096

contract("memory", () =>
  Effect.gen(function* () {
    const memory = yield* DocumentStore.makeMemory({ prefix: contractPrefix, pageSize, maxObjectBytes })
    return {
      layer: Layer.succeed(DocumentStore.DocumentStore, memory),
      putRaw: (key: string, body: string | Uint8Array) => memory.putRaw(key, body),
      prefix: contractPrefix,
      pageSize,
      maxObjectBytes,
      utf8Order: true,
      enforcesConditions: true,
    }
  }).pipe(Effect.provide(DocumentKind.layerDefault)),
)

contract("S3 emulator", () =>
  Effect.gen(function* () {
    const isolated = yield* Effect.promise(() => Testing.isolated("store"))
    const raw = new S3Client({ ...isolated.clientConfig.s3 })
    return {
      layer: S3.layer({
        bucket: isolated.bucket,
        prefix: contractPrefix,
        clientConfig: isolated.clientConfig.s3,
        pageSize,
        maxObjectBytes,
        retry: { maxAttempts: 2, base: "10 millis", cap: "10 millis" },
      }).pipe(Layer.provide(DocumentKind.layerDefault)),
      putRaw: (key: string, body: string | Uint8Array) =>
        Effect.promise(() => raw.send(new PutObjectCommand({ Bucket: isolated.bucket, Key: key, Body: body }))).pipe(
          Effect.asVoid,
        ),
      prefix: contractPrefix,
      pageSize,
      maxObjectBytes,
      utf8Order: false,
      enforcesConditions: false,
    }
  }),
)

contract("memory, conditions ignored like fauxqs", () =>
  Effect.gen(function* () {
    const memory = yield* DocumentStore.makeMemory({
      prefix: contractPrefix,
      pageSize,
      maxObjectBytes,
      conditional: false,
    })
    return {
      layer: Layer.succeed(DocumentStore.DocumentStore, memory),
      putRaw: (key: string, body: string | Uint8Array) => memory.putRaw(key, body),
      prefix: contractPrefix,
      pageSize,
      maxObjectBytes,
      utf8Order: true,
      enforcesConditions: false,
    }
  }).pipe(Effect.provide(DocumentKind.layerDefault)),
)

describe("S3 conditional writes on the emulator", () => {
  it.effect("the probe tells a store that ignores If-None-Match (fauxqs 1.9.2) from one that enforces it", () =>
    Effect.gen(function* () {
      const isolated = yield* Effect.promise(() => Testing.isolated("probe"))
      const verdict = yield* S3.probeConditionalWrites({
        bucket: isolated.bucket,
        clientConfig: isolated.clientConfig.s3,
      })
      expect(verdict).toBe("ignored")
    }).pipe(Effect.scoped),
  )
})

describe("ETags", () => {
  it.prop(
    "normalizeEtag strips a leading and a trailing quote, as the regex it replaced",
    [fc.option(fc.stringMatching(/^"?[a-f0-9"W/-]{0,6}"?$/), { nil: undefined })],
    ([etag]) => {
      expect(ObjectCodec.normalizeEtag(etag)).toBe((etag ?? "").replace(/^"|"$/g, ""))
    },
    { fastCheck: { numRuns: 500, examples: [['"'], ['""'], ['"abc"'], ['abc"'], ['"abc'], ['W/"abc"'], [undefined]] } },
  )
})

describe("DocumentStore metadata", () => {
  it("metadata round-trips through US-ASCII for any values", () => {
    fc.assert(metadataRoundTrip, { numRuns: 300 })
  })
})

describe("S3 body reads", () => {
  it.effect("interrupting a body read destroys the stream", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      body.write("{")
      const fiber = yield* Effect.fork(S3.readBody(body, 1000, "changes/CHG-1.json"))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      expect(body.destroyed).toBe(true)
    }),
  )

  it.effect("a body growing past the limit fails with TooLarge while streaming and is destroyed", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      const fiber = yield* Effect.fork(S3.readBody(body, 10, "changes/CHG-2.json"))
      yield* Effect.yieldNow()
      body.write("0123456789abc")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "StoreError", reason: "TooLarge", key: "changes/CHG-2.json" })
      expect(body.destroyed).toBe(true)
    }),
  )

  it.effect("a body cut off mid-way is a retryable failure", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      const fiber = yield* Effect.fork(S3.readBody(body, 1000, "changes/CHG-3.json"))
      yield* Effect.yieldNow()
      body.write("{")
      body.destroy(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "StoreError", reason: "Unavailable" })
      expect(error.retryable).toBe(true)
    }),
  )
})

describe("DocumentStore memory listing", () => {
  it.effect.prop(
    "a paged listing equals every key under the prefix after startAfter, once each, in UTF-8 order",
    [
      fc.uniqueArray(fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }), { maxLength: 25 }),
      fc.integer({ min: 1, max: 7 }),
      fc.option(fc.string({ unit: "grapheme", maxLength: 4 }), { nil: undefined }),
    ],
    ([names, pageSize, after]) =>
      Effect.gen(function* () {
        const store = yield* DocumentStore.makeMemory({ prefix: "p +é/", pageSize })
        for (const name of names) yield* store.putRaw(`p +é/${name}`, "{}")
        yield* store.putRaw("elsewhere/x", "{}")
        const startAfter = after === undefined ? undefined : `p +é/${after}`
        const listed = yield* Stream.runCollect(store.list(startAfter === undefined ? {} : { startAfter }))
        const expected = names
          .map((n) => `p +é/${n}`)
          .filter((k) => startAfter === undefined || ObjectCodec.compareKeys(k, startAfter) > 0)
          .sort(ObjectCodec.compareKeys)
        expect(Chunk.toReadonlyArray(listed).map((o) => o.key)).toEqual(expected)
      }).pipe(Effect.provide(DocumentKind.layerDefault)),
    { fastCheck: { numRuns: 200 } },
  )
})

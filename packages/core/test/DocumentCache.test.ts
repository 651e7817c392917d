import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import { bulkContract } from "./DocumentCache.bulk.contract.js"
import { change, contract } from "./DocumentCache.contract.js"
import { protocolContract } from "./DocumentCache.protocol.js"

contract("memory", (options) => DocumentCache.layerMemory(options).pipe(Layer.provide(DocumentKind.layerDefault)))
bulkContract("memory", (options) => DocumentCache.layerMemory(options).pipe(Layer.provide(DocumentKind.layerDefault)))

const query: DocumentCache.Query = {
  target: { _tag: "Time" },
  from: "2026-06-01T00:00:00Z",
  to: "2026-09-01T00:00:00Z",
}

// One cache and one issued cursor for every run.
const { cache, cursor } = await Effect.runPromise(
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    for (let i = 0; i < 4; i++) {
      const doc = change(`cur${i}`, 1, ["acme"], `2026-07-0${i + 1}T00:00:00Z`)
      yield* cache.put(doc, { s3Key: `changes/${doc.id}.json` })
    }
    const first = yield* cache.page(query, { limit: 2 })
    return { cache, cursor: Option.getOrThrow(first.cursor) }
  }).pipe(
    Effect.provide(DocumentCache.layerMemory({ retentionDays: 36500 }).pipe(Layer.provide(DocumentKind.layerDefault))),
  ),
)

it.effect.prop(
  "any cursor Docket did not issue, or one altered anywhere, is a CursorError",
  [fc.string({ maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 60 })],
  ([random, position, codeDelta]) =>
    Effect.gen(function* () {
      const at = position % cursor.length
      const altered = `${cursor.slice(0, at)}${String.fromCharCode(((cursor.charCodeAt(at) + codeDelta) % 94) + 33)}${cursor.slice(at + 1)}`
      for (const bad of [random, altered, cursor.slice(0, at)]) {
        if (bad === cursor) continue
        const result = yield* Effect.either(cache.page(query, { limit: 2, cursor: bad }))
        expect(result._tag === "Left" && result.left._tag).toBe("CursorError")
      }
    }),
  { fastCheck: { numRuns: 200 } },
)

protocolContract("memory", (options) =>
  DocumentCache.layerMemory(options).pipe(Layer.provide(DocumentKind.layerDefault)),
)

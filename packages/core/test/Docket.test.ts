import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Arbitraries from "../src/Arbitraries.js"
import * as Docket from "../src/Docket.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as WriteThrough from "../src/WriteThrough.js"

const document = fc.sample(Arbitraries.announcement({ maxTextLength: 20 }), { numRuns: 1, seed: 5 })[0]!
const quiet = Logger.minimumLogLevel(LogLevel.None)

describe("Docket.layerMemory", () => {
  it.effect("provides the ports and both workflows over one cache and one store, with the settings' prefix", () =>
    Effect.gen(function* () {
      const written = yield* WriteThrough.write(document)
      expect(written).toMatchObject({ _tag: "Written", s3Key: `tenant/announcements/${document.id}.json` })
      const store = yield* DocumentStore.DocumentStore
      const cache = yield* DocumentCache.DocumentCache
      expect(Option.isSome(yield* store.get(document.kind, document.id))).toBe(true)
      expect(Option.isSome(yield* cache.get(document.kind, document.id))).toBe(true)
      const read = yield* FallbackReader.read(document.kind, document.id)
      expect(Option.map(read, (r) => r.source)).toEqual(Option.some("cache"))
    }).pipe(Effect.provide(Layer.merge(Docket.layerMemory({ prefix: "tenant/" }), quiet))),
  )

  it.effect("with the cache off, the same calls work from S3 alone", () =>
    Effect.gen(function* () {
      expect((yield* WriteThrough.write(document))._tag).toBe("Written")
      const cache = yield* DocumentCache.DocumentCache
      expect(yield* cache.get(document.kind, document.id)).toEqual(Option.none())
      const read = yield* FallbackReader.read(document.kind, document.id)
      expect(Option.map(read, (r) => [r.source, r.document])).toEqual(Option.some(["store", document]))
    }).pipe(Effect.provide(Layer.merge(Docket.layerMemory({ cacheEnabled: false }), quiet))),
  )
})

/**
 * DESIGN invariant 4 on the memory layer: query results equal a brute-force filter
 * over the same documents (half-open range, expired items excluded, also at exactly
 * `expiresAt`, no duplicates, ordered by time then kind then id), for the stream and
 * for pages resumed by cursor. The same property on DynamoDB Local is in
 * DocumentCache.properties.local.test.ts.
 */
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as MemoryCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as RateLimit from "../src/RateLimit.js"
import {
  check,
  corpus,
  now,
  query,
  resolveNow,
  retentionDays,
  statusCorpus,
  statusQuery,
  statusShards,
} from "./QueryModel.js"

const base = Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)

describe("DocumentCache queries", () => {
  it.effect.prop(
    "memory: query and cursor-resumed pages equal the brute-force filter (invariant 4)",
    [corpus(40), query, now, fc.integer({ min: 1, max: 7 }), statusShards],
    ([docs, q, at, limit, shards]) =>
      check(docs, q, resolveNow(docs, at), limit).pipe(
        Effect.provide(MemoryCache.layerMemory({ retentionDays, statusShards: shards }).pipe(Layer.provide(base))),
      ),
    { fastCheck: { numRuns: 200 } },
  )

  it.effect.prop(
    "memory: status queries over 1..8 index shards merge in order and resume exactly by cursor (invariant 4)",
    [statusCorpus(60), statusQuery, now, fc.integer({ min: 1, max: 7 }), statusShards],
    ([docs, q, at, limit, shards]) =>
      check(docs, q, resolveNow(docs, at), limit).pipe(
        Effect.provide(MemoryCache.layerMemory({ retentionDays, statusShards: shards }).pipe(Layer.provide(base))),
      ),
    { fastCheck: { numRuns: 200 } },
  )
})

/**
 * DESIGN invariant 4 on DynamoDB Local (the model and the memory-layer run are in
 * QueryModel.ts and DocumentCache.properties.test.ts).
 */
import { createTable } from "@docket/local/LocalStack"
import * as Testing from "@docket/local/Testing"
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import type * as Document from "../src/Document.js"
import * as DynamoDB from "../src/DocumentCache/DynamoDB.js"
import type { Query } from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as RateLimit from "../src/RateLimit.js"
import {
  check,
  corpus,
  type Now,
  now,
  query,
  resolveNow,
  retentionDays,
  statusCorpus,
  statusQuery,
  statusShards,
} from "./QueryModel.js"

const base = Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)

const run = (docs: ReadonlyArray<Document.AnyDocument>, q: Query, at: Now, limit: number, statusShards: number) =>
  Effect.gen(function* () {
    const table = `docket-prop-${crypto.randomUUID().slice(0, 8)}`
    const config = Testing.clientConfig()
    yield* Effect.promise(() => createTable(config, table))
    yield* check(docs, q, resolveNow(docs, at), limit).pipe(
      Effect.provide(
        DynamoDB.layer({ table, retentionDays, client: config.dynamodb, bucketConcurrency: 2, statusShards }).pipe(
          Layer.provide(base),
        ),
      ),
    )
  })

describe("DocumentCache queries", () => {
  it.effect.prop(
    "DynamoDB Local: query and cursor-resumed pages equal the brute-force filter (invariant 4)",
    [corpus(15), query, now, fc.integer({ min: 1, max: 5 }), statusShards],
    ([docs, q, at, limit, shards]) => run(docs, q, at, limit, shards),
    { fastCheck: { numRuns: 25 }, timeout: 120_000 },
  )

  it.effect.prop(
    "DynamoDB Local: status queries over 1..8 index shards merge in order and resume exactly by cursor (invariant 4)",
    [statusCorpus(20), statusQuery, now, fc.integer({ min: 1, max: 5 }), statusShards],
    ([docs, q, at, limit, shards]) => run(docs, q, at, limit, shards),
    { fastCheck: { numRuns: 15 }, timeout: 120_000 },
  )
})

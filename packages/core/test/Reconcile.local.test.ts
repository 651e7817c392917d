/**
 * Reconcile on DynamoDB Local and the S3 emulator, where the backend has code of its
 * own that the memory cache lacks: a document whose body is over the item limit is
 * cached as a pointer (summary and S3 key, no body), and reconcile can only compare
 * such an entry by version (`Reconcile.faults.test.ts` models the same on memory).
 */
import * as Testing from "@docket/local/Testing"
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as Reconcile from "../src/Reconcile.js"
import * as LocalDocket from "./support/LocalDocket.js"

const quiet = Logger.minimumLogLevel(LogLevel.None)

const local = Layer.unwrapEffect(
  Effect.promise(() => Testing.isolated("reconcile")).pipe(Effect.map((isolated) => LocalDocket.layer(isolated))),
)

/** A change whose body (about 500 kB) is over DynamoDB's 400 KB item limit. */
const big = (id: string, version: number, title: string): Document.AnyDocument => ({
  kind: "change",
  id: id as never,
  version,
  title,
  customers: ["acme"],
  status: "approved",
  description: "é".repeat(250_000),
  schedule: { start: "2099-01-01T22:00:00Z", end: "2099-01-02T02:00:00Z" },
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-02T10:00:00Z",
})

describe("Reconcile on DynamoDB Local and the S3 emulator", () => {
  layer(local, { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("a pointer entry compares by version: the same version is no drift, an older one is stale", () =>
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        // Same version, other content, another ETag: the body read from S3 has nothing to compare with.
        const same = yield* store.put(big("CHG-ptr-same", 3, "in S3"))
        yield* cache.put(big("CHG-ptr-same", 3, "cached"), { s3Key: same.key, etag: '"an-older-etag"' })
        const old = yield* store.put(big("CHG-ptr-old", 4, "t"))
        yield* cache.put(big("CHG-ptr-old", 2, "t"), { s3Key: old.key, etag: '"an-older-etag"' })
        const entry = yield* cache.get("change", "CHG-ptr-old")
        expect(Option.map(entry, (e) => (e._tag === "Cached" ? e.document : e))).toStrictEqual(Option.some(undefined))

        const report = yield* Reconcile.run({ fix: true })
        expect(report.bodiesRead).toBe(2)
        expect(report.drift).toStrictEqual([
          {
            kind: "change",
            id: "CHG-ptr-old",
            key: old.key,
            type: "stale",
            detail: "cache has version 2, S3 has version 4",
            repair: { outcome: "fixed" },
          },
        ])
        const repaired = yield* cache.get("change", "CHG-ptr-old")
        expect(Option.map(repaired, (e) => (e._tag === "Cached" ? e.summary.version : e._tag))).toStrictEqual(
          Option.some(4),
        )
        // The repair stored S3's ETag: the next run finds both clean without a body read.
        const again = yield* Reconcile.run()
        expect([again.drift, again.bodiesRead]).toStrictEqual([[], 1])
      }).pipe(Effect.provide(quiet)),
    )
  })
})

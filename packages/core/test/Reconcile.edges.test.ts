/**
 * Reconcile's edges that the mutation pass over reconcile (issue #11) found untested
 * on the memory layers: the Scan's segments as asked of the cache (the DynamoDB
 * backend's request count is `BulkRequests.local.test.ts`'), a listing failing with
 * no value at all, the run's span, and the rows the clean fast path must not take (a
 * tombstone carrying the object's ETag, an entry without one). Behaviour and requests only.
 */

import * as Docket from "@docket/core/Docket"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as Reconcile from "@docket/core/Reconcile"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { change } from "./support/Reconcile.js"

const memory = <A, E>(self: Effect.Effect<A, E, Docket.Services>) => Effect.provide(self, Docket.layerMemory())

const exporter = new InMemorySpanExporter()
const otel = NodeSdk.layer(() => ({
  resource: { serviceName: "docket-test" },
  spanProcessor: new SimpleSpanProcessor(exporter),
}))

describe("Reconcile edges", () => {
  it.effect("the cache is scanned with the run's segments: the default, or the ones asked for", () =>
    memory(
      Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        const asked: Array<DocumentCache.ScanOptions | undefined> = []
        const recording: DocumentCache.Service = {
          ...cache,
          scan: (options) => {
            asked.push(options)
            return cache.scan(options)
          },
        }
        const withRecording = Effect.provideService(DocumentCache.DocumentCache, recording)
        const byDefault = yield* Reconcile.run().pipe(withRecording)
        const three = yield* Reconcile.run({ segments: 3 }).pipe(withRecording)
        expect(asked).toStrictEqual([{ segments: Reconcile.defaultSegments }, { segments: 3 }])
        expect([byDefault.segments, three.segments]).toStrictEqual([Reconcile.defaultSegments, 3])
      }),
    ),
  )

  it.effect("a listing that fails with no value at all is still a typed ListingFailed with a readable detail", () =>
    memory(
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Reconcile.run({ source: { kind: "listing", objects: Stream.fail(undefined) } }),
        )
        expect(error).toMatchObject({ _tag: "ReconcileError", reason: "ListingFailed" })
        expect(error.detail).toBe("Listing S3 failed: undefined")
      }),
    ),
  )

  it.effect("a run is one Reconcile.run span", () =>
    memory(
      Effect.gen(function* () {
        exporter.reset()
        yield* Reconcile.run()
        // Read while the SDK runs: it empties the exporter when it shuts down.
        expect(exporter.getFinishedSpans().map((s) => s.name)).toContain("Reconcile.run")
      }),
    ).pipe(Effect.provide(otel)),
  )

  it.effect("a weak ETag in the cache compares equal to S3's: no body read, no drift", () =>
    memory(
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        const doc = change("CHG-weak")
        const { key, etag } = yield* store.put(doc)
        yield* cache.put(doc, { s3Key: key, etag: `W/"${etag}"` })
        const report = yield* Reconcile.run()
        expect(report.drift).toStrictEqual([])
        expect(report.bodiesRead).toBe(0)
        expect(Option.isSome(yield* cache.get("change", "CHG-weak"))).toBe(true)
      }),
    ),
  )

  it.effect("progress goes out once progressEveryMs has passed, the boundary included", () =>
    memory(
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        // Documents S3 has and the cache has not: the join's rows tick after the phases' reports.
        for (let i = 0; i < 30; i++) yield* store.put(change(`CHG-p${String(i).padStart(2, "0")}`))
        // Each report moves the clock by exactly the interval: every tick is due, as with 0.
        const reports = (progressEveryMs: number) =>
          Effect.gen(function* () {
            let n = 0
            yield* Reconcile.run({
              progressEveryMs,
              onProgress: () =>
                Effect.zipRight(
                  Effect.sync(() => (n += 1)),
                  TestClock.adjust(1000),
                ),
            })
            return n
          })
        const every = yield* reports(0)
        expect(every).toBeGreaterThan(2)
        expect(yield* reports(1000)).toBe(every)
      }),
    ),
  )

  it.effect("a tombstone that carries the listed object's ETag is still missing drift (same body put back in S3)", () =>
    memory(
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        const { etag } = yield* store.put(change("CHG-again"))
        yield* cache.tombstone("change", "CHG-again", { ttlSeconds: 600, etag })
        const report = yield* Reconcile.run()
        expect(report.counts.missing).toBe(1)
        expect(report.compared).toBe(0)
      }),
    ),
  )

  it.effect("a cached entry without an ETag is compared by its body: no drift when the bodies agree", () =>
    memory(
      Effect.gen(function* () {
        const store = yield* DocumentStore.DocumentStore
        const cache = yield* DocumentCache.DocumentCache
        const doc = change("CHG-no-etag")
        const { key } = yield* store.put(doc)
        yield* cache.put(doc, { s3Key: key })
        const report = yield* Reconcile.run()
        expect([report.drift, report.compared, report.bodiesRead]).toStrictEqual([[], 1, 1])
      }),
    ),
  )
})

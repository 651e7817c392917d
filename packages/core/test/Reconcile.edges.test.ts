/**
 * Reconcile's edges that the mutation pass over reconcile (issue #11) found untested
 * on the memory layers: the Scan's segments as asked of the cache (the DynamoDB
 * backend's request count is `BulkRequests.local.test.ts`'), a listing failing with
 * no value at all, and the run's span. Behaviour and requests only.
 */

import * as Docket from "@docket/core/Docket"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as Reconcile from "@docket/core/Reconcile"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

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
})

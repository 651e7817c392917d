/**
 * Docket composed into an app of your own, on the memory layers (no AWS, no local
 * stack): the example of the README's "Use Docket in your app". The consumer test
 * (`npm run release:check`) installs the packed tarballs into a fresh project, runs
 * this file there with plain `node` (Node 24 strips the types) and typechecks it
 * with a strict NodeNext `tsc`.
 *
 * The layers are the ports (DocumentCache, DocumentStore) under the workflows
 * (WriteThrough, FallbackReader), over the settings and the document kinds. On
 * AWS, swap the two memory layers for `DocumentCache/DynamoDB` and
 * `DocumentStore/S3`, or take all of it from `Docket.layerConfig()`.
 *
 * Run: npx tsx --conditions=@docket/source examples/use-docket-in-your-app.ts
 */
import * as DocketConfig from "@docket/core/DocketConfig"
import * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const settings = DocketConfig.make({ bucket: "my-documents" })

/** Docket's services for this app: workflows over the memory ports. */
export const DocketLive = Layer.mergeAll(WriteThrough.layer, FallbackReader.layer).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      DocumentCache.layerMemory({ retentionDays: settings.ttlDays }),
      DocumentStore.layerMemory({ bucket: settings.bucket, prefix: settings.prefix }),
    ),
  ),
  Layer.provideMerge(Layer.mergeAll(DocketConfig.layer(settings), DocumentKind.layerDefault)),
)

// A change as it arrives from elsewhere (JSON): decoding checks it against the schema.
const incoming: unknown = {
  kind: "change",
  id: "CHG-2026-000123",
  version: 1,
  title: "Rotate TLS certificates",
  customers: ["acme", "globex"],
  status: "scheduled",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T09:00:00Z",
  updatedAt: "2026-11-01T09:00:00Z",
}

/** Write a change through, read it back, and query one customer's week. */
export const program = Effect.gen(function* () {
  const writer = yield* WriteThrough.WriteThrough
  const reader = yield* FallbackReader.FallbackReader
  const cache = yield* DocumentCache.DocumentCache

  const change = yield* Schema.decodeUnknown(Document.Change)(incoming)
  const written = yield* writer.write(change)
  const read = yield* reader.read("change", change.id)
  const acme = yield* Stream.runCollect(
    cache.query({
      target: { _tag: "Customer", customer: "acme" },
      from: "2026-11-30T00:00:00Z",
      to: "2026-12-07T00:00:00Z",
    }),
  )
  return {
    written: written._tag,
    readFrom: Option.match(read, { onNone: () => "nowhere", onSome: (r) => r.source }),
    acme: Chunk.toReadonlyArray(acme).map((summary) => summary.id),
  }
})

Effect.runPromise(program.pipe(Effect.provide(DocketLive))).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  },
)

/**
 * Decoding documents and deriving their index items with the document model.
 *
 * Run: npx tsx --conditions=@docket/source examples/document-model.ts
 */
import * as Document from "@docket/core/Document"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as S3Key from "@docket/core/S3Key"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

// A kind of our own, registered beside the built-ins without touching core.
const Incident = Schema.Struct(
  {
    kind: Schema.Literal("incident"),
    id: Schema.String.pipe(Schema.pattern(/^INC-[A-Za-z0-9-]{1,64}$/)),
    version: Document.Version,
    title: Schema.String,
    customers: Document.Customers,
    state: Schema.Literal("open", "resolved"),
    openedAt: Document.IsoTimestamp,
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
)

const incident = DocumentKind.make({
  name: "incident",
  folder: "incidents",
  idPrefix: "INC-",
  schema: Incident,
  statuses: ["open", "resolved"],
  customers: (d) => d.customers,
  status: (d) => d.state,
  time: (d) => d.openedAt,
  title: (d) => d.title,
})

const program = Effect.gen(function* () {
  const kinds = yield* DocumentKind.DocumentKinds
  const body = JSON.stringify({
    kind: "incident",
    id: "INC-42",
    version: 1,
    title: "Database failover",
    customers: ["acme", "globex"],
    state: "open",
    openedAt: "2026-11-24T08:15:00+01:00",
    pager: { escalation: "P1" }, // unknown fields are kept
  })
  const doc = yield* kinds.decodeJson(body, "example")
  const key = S3Key.forDocument("", incident, doc.id)
  const items = Items.toItems(doc, kinds, { s3Key: key, retentionDays: 90 })
  yield* Effect.log(`S3 key: ${key}`)
  yield* Effect.log(`summary: ${JSON.stringify(kinds.summarize(doc))}`)
  yield* Effect.log(`items: 1 document item + ${items.customers.length} customer items, pointer=${items.pointer}`)

  const bad = yield* Effect.either(kinds.decodeJson(`{"kind":"incident","id":"INC-1","version":0}`, "bad.json"))
  if (bad._tag === "Left") yield* Effect.log(`rejected: ${bad.left.message}`)
})

Effect.runPromise(program.pipe(Effect.provide(DocumentKind.layer([...DocumentKind.builtins, incident]))))

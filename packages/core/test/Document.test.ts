import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Arbitraries from "../src/Arbitraries.js"
import * as Document from "../src/Document.js"
import * as DocumentKind from "../src/DocumentKind.js"

const registry = DocumentKind.defaultRegistry

const canonical = Document.canonicalJson

const change = {
  kind: "change",
  id: "CHG-2026-000123",
  version: 3,
  title: "Rotate TLS certificates",
  customers: ["acme", "globex"],
  status: "approved",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-02T10:00:00Z",
}

describe("Document", () => {
  it.prop(
    "document -> S3 JSON -> document is the identity (unknown fields kept)",
    [Arbitraries.document({ maxTextLength: 400 })],
    ([doc]) => {
      const decoded = registry.decodeJson(JSON.stringify(doc), "test")
      expect(canonical(Either.getOrThrow(decoded))).toBe(canonical(doc))
    },
    { fastCheck: { numRuns: 200 } },
  )

  it.prop(
    "encoding a decoded document gives back the same JSON",
    [Arbitraries.change({ maxCustomers: 40 })],
    ([doc]) => {
      const decoded = Schema.decodeUnknownSync(Document.Change)(doc)
      expect(JSON.parse(JSON.stringify(Schema.encodeSync(Document.Change)(decoded)))).toStrictEqual(
        JSON.parse(JSON.stringify(doc)),
      )
    },
    { fastCheck: { numRuns: 200 } },
  )

  it("keeps unknown fields named like Object.prototype members (constructor, prototype, __proto__ ...), nested too", () => {
    const names = ["constructor", "prototype", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"]
    const values: ReadonlyArray<unknown> = [[], { a: 1 }, 5, "x", null]
    for (const value of values) {
      const extra = Object.fromEntries(names.map((name) => [name, value]))
      const text = JSON.stringify({ ...change, ...extra, schedule: { ...change.schedule, ...extra }, ticket: extra })
      const decoded = Either.getOrThrow(registry.decodeJson(text, "test"))
      // Written back, the document is the JSON it was read from: no field lost, none turned into a prototype.
      expect(canonical(decoded)).toBe(canonical(JSON.parse(text)))
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
      expect(Object.getPrototypeOf((decoded as unknown as { schedule: object }).schedule)).toBe(Object.prototype)
      for (const name of names) {
        expect(Object.hasOwn(decoded, name), name).toBe(true)
        expect(JSON.parse(JSON.stringify(decoded))[name], name).toEqual(value)
      }
    }
  })

  it("toStrictEqual compares a field named constructor as data (vitest.setup.ts), and still sees a difference in it", () => {
    const doc = (value: unknown) => JSON.parse(JSON.stringify({ ...change, constructor: value }))
    expect(doc([])).toStrictEqual(doc([]))
    expect(doc({ a: [1] })).toStrictEqual(doc({ a: [1] }))
    expect(doc([1])).not.toStrictEqual(doc([2]))
    // Strict inside the field too: an undefined property is not an absent one.
    expect({ ...change, constructor: { a: 1 } }).not.toStrictEqual({ ...change, constructor: { a: 1, b: undefined } })
    expect(doc({ a: 1 })).not.toStrictEqual({ ...change })
  })

  it("keeps unknown fields, nested too", () => {
    const doc = { ...change, ticket: { system: "jira", key: "OPS-1" }, schedule: { ...change.schedule, tz: "UTC" } }
    expect(Either.getOrThrow(registry.decode(doc, "x"))).toStrictEqual(doc)
  })

  it("names the field path and the source of a schema violation", () => {
    const result = registry.decode({ ...change, customers: ["acme", "Bad Code"], status: "done" }, "changes/x.json")
    const error = Either.flip(result).pipe(Either.getOrThrow)
    expect(error.reason).toBe("SchemaViolation")
    expect(error.message).toContain("changes/x.json")
    expect(error.message).toContain('"customers".1')
    expect(error.message).toContain('"status"')
  })

  it("rejects duplicate customers, bad ids, versions below 1 and schedules that end before they start", () => {
    const bad = [
      { ...change, customers: ["acme", "acme"] },
      { ...change, id: "CHG-has space" },
      { ...change, id: "ANN-1" },
      { ...change, version: 0 },
      { ...change, version: 1.5 },
      { ...change, customers: [] },
      { ...change, schedule: { start: "2026-12-01T00:00:00Z", end: "2026-11-30T00:00:00Z" } },
      { ...change, createdAt: "yesterday" },
      { ...change, createdAt: "2026-02-30T00:00:00Z" },
    ]
    for (const doc of bad) expect(Either.isLeft(registry.decode(doc, "t")), JSON.stringify(doc)).toBe(true)
  })

  it("reports malformed JSON and unknown kinds as typed errors", () => {
    const malformed = Either.flip(registry.decodeJson("{ not json", "stdin:1")).pipe(Either.getOrThrow)
    expect(malformed.reason).toBe("MalformedJson")
    expect(malformed.message).toMatch(/^stdin:1: malformed JSON/)
    const unknown = Either.flip(registry.decode({ kind: "memo", id: "x" }, "f")).pipe(Either.getOrThrow)
    expect(unknown.reason).toBe("UnknownKind")
    expect(unknown.message).toContain("memo")
    const missing = Either.flip(registry.decode([1, 2], "f")).pipe(Either.getOrThrow)
    expect(missing.reason).toBe("UnknownKind")
  })

  it("summarizes by the kind's indexing time, normalised to UTC", () => {
    const summary = registry.summarize(Either.getOrThrow(registry.decode(change, "t")))
    expect(summary).toStrictEqual({
      kind: "change",
      id: "CHG-2026-000123",
      version: 3,
      title: "Rotate TLS certificates",
      status: "approved",
      customers: ["acme", "globex"],
      time: "2026-11-30T22:00:00.000Z",
    })
    const announcement = {
      kind: "announcement",
      id: "ANN-2026-000045",
      version: 1,
      type: "maintenance",
      title: "Window",
      customers: ["acme"],
      status: "scheduled",
      publishAt: "2026-11-20T11:00:00+02:00",
      createdAt: "2026-11-01T10:00:00Z",
      updatedAt: "2026-11-01T10:00:00Z",
    }
    expect(registry.summarize(Either.getOrThrow(registry.decode(announcement, "t"))).time).toBe(
      "2026-11-20T09:00:00.000Z",
    )
  })

  it("accepts a user-defined kind through the registry without touching core", () => {
    const Incident = Schema.Struct(
      {
        kind: Schema.Literal("incident"),
        id: Schema.String.pipe(Schema.pattern(/^INC-[A-Za-z0-9-]{1,64}$/)),
        version: Document.Version,
        title: Schema.String,
        customers: Document.Customers,
        severity: Schema.Literal("sev1", "sev2"),
        openedAt: Document.IsoTimestamp,
      },
      Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    )
    const incident = DocumentKind.make({
      name: "incident",
      folder: "incidents",
      idPrefix: "INC-",
      schema: Incident,
      statuses: ["sev1", "sev2"],
      customers: (d) => d.customers,
      status: (d) => d.severity,
      time: (d) => d.openedAt,
      title: (d) => d.title,
    })
    const reg = DocumentKind.registry([...DocumentKind.builtins, incident])
    const doc = {
      kind: "incident",
      id: "INC-7",
      version: 1,
      title: "db down",
      customers: ["acme"],
      severity: "sev1",
      openedAt: "2026-01-01T00:00:00Z",
    }
    expect(reg.summarize(Either.getOrThrow(reg.decode(doc, "t")))).toMatchObject({ kind: "incident", status: "sev1" })
    expect(() => DocumentKind.registry([incident, incident])).toThrow(/registered twice/)
  })

  it.prop(
    "generated customer codes and ids are accepted by the schemas",
    [fc.uniqueArray(Arbitraries.customerCode, { minLength: 1, maxLength: 60 })],
    ([codes]) => {
      expect(Either.isRight(Schema.decodeUnknownEither(Document.Customers)(codes))).toBe(true)
    },
    { fastCheck: { numRuns: 200 } },
  )
})

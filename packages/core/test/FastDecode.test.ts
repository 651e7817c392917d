import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Arbitraries from "../src/Arbitraries.js"
import * as DocumentKind from "../src/DocumentKind.js"

// The built-in kinds' fast decode against the schema decode it stands in for. The slow registry is the
// same kinds without `fastDecode`: everything goes through the schema, as before the fast path existed.
const withoutFast = <A extends DocumentKind.DocumentKind<any>>({ fastDecode: _, ...kind }: A) => kind
const slow = DocumentKind.registry(DocumentKind.builtins.map(withoutFast))
const fast = DocumentKind.defaultRegistry

/** The fast decode of the kind the value names, if it is a built-in one. */
const fastDecode = (value: unknown): unknown => {
  const name = typeof value === "object" && value !== null ? (value as { kind?: unknown }).kind : undefined
  const kind = typeof name === "string" ? fast.get(name) : undefined
  return kind?.fastDecode?.(value)
}

/** Whether any object inside `value` has an own `__proto__` key (the fast decode leaves those to the schema). */
const hasProtoKey = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  ((!Array.isArray(value) && Object.hasOwn(value, "__proto__")) || Object.values(value).some(hasProtoKey))

/**
 * The agreement: the fast decode never accepts what the schema rejects, and what it returns is the
 * schema's document, deep-equal and key for key in the same order; the registry with the fast path
 * answers what the registry without it answers, errors included. `json`: the value is what JSON.parse
 * gives, and then the fast decode must also accept every such document the schema accepts (bar
 * `__proto__` keys), or it would be a fast path in name only.
 */
const agree = (value: unknown, json: boolean) => {
  const expected = slow.decode(value, "t")
  const direct = fastDecode(value)
  if (direct !== undefined) {
    expect(Either.isRight(expected), "the fast decode accepted what the schema rejects").toBe(true)
    const document = Either.getOrThrow(expected)
    expect(JSON.stringify(direct)).toBe(JSON.stringify(document))
    expect(direct).toStrictEqual(document)
    expect(Object.getPrototypeOf(direct)).toBe(Object.getPrototypeOf(document))
  } else if (json && !hasProtoKey(value)) {
    expect(Either.isLeft(expected), `the fast decode was not sure of a valid document: ${JSON.stringify(value)}`).toBe(
      true,
    )
  }
  const actual = fast.decode(value, "t")
  if (Either.isRight(expected)) {
    expect(Either.isRight(actual)).toBe(true)
    expect(JSON.stringify(Either.getOrThrow(actual))).toBe(JSON.stringify(expected.right))
    expect(Either.getOrThrow(actual)).toStrictEqual(expected.right)
  } else {
    expect(Either.isLeft(actual)).toBe(true)
    expect(Either.flip(actual).pipe(Either.getOrThrow).message).toBe(expected.left.message)
  }
  return direct !== undefined
}

const json = <A>(value: A): A => JSON.parse(JSON.stringify(value))

const timestamps = [
  "2026-11-30T22:00:00Z",
  "2026-11-30T22:00Z",
  "2026-11-30T22:00:00.5Z",
  "2026-11-30T22:00:00.123456789Z",
  "2026-11-30T22:00:00.1234567890Z",
  "2026-11-30T22:00:00",
  "2026-11-30 22:00:00Z",
  "2026-11-30t22:00:00z",
  "2026-11-30T22:00:00Z\n",
  "2026-02-30T10:00:00Z",
  "2026-02-29T10:00:00Z",
  "2024-02-29T10:00:00Z",
  "2100-02-29T10:00:00Z",
  "2000-02-29T10:00:00Z",
  "2026-04-31T10:00:00Z",
  "2026-13-01T10:00:00Z",
  "2026-00-01T10:00:00Z",
  "2026-11-00T10:00:00Z",
  "2026-11-30T24:00:00Z",
  "2026-11-30T23:60:00Z",
  "2026-11-30T23:59:60Z",
  "0099-12-31T23:59:59Z",
  "0100-01-01T00:00:00Z",
  "9999-12-31T23:59:59+00:00",
  "2026-11-30T22:00:00+25:00",
  "2026-11-30T22:00:00+24:00",
  "2026-11-30T22:00:00+23:59",
  "2026-11-30T22:00:00-00:00",
  "2026-11-30T22:00:00+02:60",
  "2026-11-30T22:00:00+0200",
  "２０２６-11-30T22:00:00Z",
  "2026-12-01T02:00:00Z",
  "2026-11-30T21:59:59.999Z",
]

/** Values put where a field was: wrong types, empties, near misses of every rule, values of other fields. */
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    "",
    " ",
    0,
    -0,
    1,
    2,
    1.5,
    -1,
    2 ** 53 - 1,
    2 ** 53,
    1e21,
    "1",
    true,
    false,
    [],
    {},
    [1],
    ["acme"],
    { a: 1 },
    "CHG-1",
    "CHG-",
    "CHG-has space",
    "chg-1",
    "ANN-1",
    `CHG-${"a".repeat(64)}`,
    `CHG-${"a".repeat(65)}`,
    "ANN-x_y",
    "CHG-ü",
    "draft",
    "Draft",
    "done",
    "published",
    "in-progress",
    "maintenance",
    "created",
    "change",
    "announcement",
    [],
    ["acme", "acme"],
    ["Acme"],
    ["a"],
    ["-ab"],
    ["ab-"],
    ["a".repeat(32)],
    ["a".repeat(33)],
    ["acme", 1],
    ["acme", null],
    [["acme"]],
    { start: "2026-11-30T22:00:00Z", end: "2026-11-30T21:00:00Z" },
    { start: "2026-11-30T22:00:00Z", end: "2026-11-30T22:00:00Z" },
    { start: "2026-11-30T22:00:00+01:00", end: "2026-11-30T21:30:00Z" },
    { start: "2026-11-30T22:00:00Z" },
    [{ start: "2026-11-30T22:00:00Z", end: "2026-11-30T23:00:00Z" }],
    [{ by: "x", at: "2026-11-30T22:00:00Z" }],
    [{ by: "", at: "2026-11-30T22:00:00Z" }],
    [{ at: "2026-11-30T22:00:00Z", by: "x", type: "updated", note: 1 }],
    [{ title: "", url: "https://x" }],
    [{ title: "t", url: "" }],
    [null],
    ...timestamps,
  ),
  fc.constantFrom(...timestamps),
  Arbitraries.timestamp(),
  fc.string({ maxLength: 4 }),
  fc.jsonValue({ maxDepth: 1 }),
)

/** Keys added to an object: index-like ones (ordered first by every engine), prototype names, known fields. */
const extraKey = fc.oneof(
  fc.constantFrom("0", "1", "42", "01", "-1", "4294967295", "1.5", "constructor", "toString", "hasOwnProperty"),
  fc.constantFrom("kind", "id", "version", "title", "customers", "schedule", "start", "end", "by", "at", "url", "note"),
  fc.string({ minLength: 1, maxLength: 6 }),
)

/** Near misses of each field's rule, by field name (`name[]`: an element of the array field `name`). */
const nearMisses: Record<string, ReadonlyArray<unknown>> = {
  kind: ["change", "announcement", "Change", "memo", "", null],
  id: ["CHG-1", "ANN-1", "CHG-", "ANN-", "CHG-has space", "chg-1", `CHG-${"a".repeat(65)}`, `ANN-${"a".repeat(64)}`],
  version: [0, -0, -1, 1, 2, 1.5, 2 ** 53 - 1, 2 ** 53, 1e21, "1", null],
  title: ["", " ", "x", 1, null],
  status: ["draft", "Draft", "done", "published", "in-progress", "archived", "submitted", ""],
  type: ["general", "release", "Release", "created", "updated", "cancelled", "news", ""],
  customers: [[], ["acme", "acme"], ["acme", "globex", "acme"], ["Acme"], ["a"], ["a".repeat(33)], "acme", {}],
  "customers[]": ["acme", "a", "ab", "-ab", "ab-", "a".repeat(32), "a".repeat(33), "Ab", "a_b", 1, null],
  schedule: [
    { start: "2026-11-30T22:00:00Z", end: "2026-11-30T21:00:00Z" },
    { start: "2026-11-30T22:00:00Z", end: "2026-11-30T22:00:00Z" },
    { start: "2026-11-30T22:00:00+01:00", end: "2026-11-30T21:30:00Z" },
    { start: "2026-11-30T22:00:00Z" },
    [],
  ],
  by: ["", "x", 1, null],
  url: ["", "https://x", null],
  approvals: [[], {}, [null], [{ by: "x" }], "x"],
  modifications: [[], {}, [[]], [{ at: "2026-11-30T22:00:00Z", by: "x", type: "created", note: 1 }]],
  links: [[], {}, [{ title: "", url: "u" }], [{ title: "t" }]],
  "approvals[]": [null, [], {}, { by: "x", at: "2026-11-30T22:00:00Z" }],
  "modifications[]": [null, [], { at: "2026-11-30T22:00:00Z", by: "x", type: "created" }],
  "links[]": [null, [], { title: "", url: "u" }],
}
for (const field of ["createdAt", "updatedAt", "publishAt", "start", "end", "at"]) nearMisses[field] = timestamps
const knownNames = new Set(Object.keys(nearMisses).filter((k) => !k.endsWith("[]")))
for (const name of ["description", "reason", "implementationPlan", "rollbackPlan", "summary", "content", "note"])
  knownNames.add(name)

type Mutation =
  | { readonly op: "set"; readonly near: number; readonly value: unknown }
  | { readonly op: "delete" }
  | { readonly op: "dup" }
  | { readonly op: "proto"; readonly value: unknown }
  | { readonly op: "extra"; readonly key: string; readonly value: unknown }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant("set" as const), near: fc.integer({ min: -1, max: 20 }), value: badValue }),
  },
  { weight: 3, arbitrary: fc.constant({ op: "delete" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "dup" as const }) },
  { weight: 1, arbitrary: badValue.map((value) => ({ op: "proto" as const, value })) },
  { weight: 2, arbitrary: fc.tuple(extraKey, badValue).map(([key, value]) => ({ op: "extra" as const, key, value })) },
)

type Path = ReadonlyArray<string | number>

/** The nodes of a document that its schema reads (known fields, at every level), the root first. */
const nodes = (value: unknown, path: Path = []): Array<Path> =>
  typeof value === "object" && value !== null
    ? [
        path,
        ...Object.keys(value)
          .filter((k) => Array.isArray(value) || knownNames.has(k))
          .flatMap((k) =>
            nodes((value as Record<string, unknown>)[k], [...path, Array.isArray(value) ? Number(k) : k]),
          ),
      ]
    : [path]

const at = (root: unknown, path: Path): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root)

/** The name of the field at `path` for {@link nearMisses}: `customers[]` for an element of `customers`. */
const fieldName = (path: Path): string => {
  const last = path[path.length - 1]
  return typeof last === "number" ? `${String(path[path.length - 2])}[]` : String(last)
}

/** Applies a mutation to `root` at the `pick`-th node; the result is still a JSON.parse-like value. */
const mutate = (root: unknown, pick: number, m: Mutation): unknown => {
  const paths = nodes(root)
  const path = paths[pick % paths.length] as Path
  if (m.op === "dup") {
    const node = at(root, path)
    if (Array.isArray(node) && node.length > 0) node.push(json(node[pick % node.length]))
    return root
  }
  if (path.length === 0) return m.op === "set" ? m.value : m.op === "delete" ? root : withKey(root, m)
  const parent = at(root, path.slice(0, -1)) as Record<string, unknown> | Array<unknown>
  const key = path[path.length - 1] as string
  if (m.op === "set") {
    const near = nearMisses[fieldName(path)]
    ;(parent as Record<string, unknown>)[key] =
      near !== undefined && m.near >= 0 ? json(near[m.near % near.length]) : m.value
  } else if (m.op === "delete") {
    if (Array.isArray(parent)) parent.splice(Number(key), 1)
    else delete parent[key]
  } else (parent as Record<string, unknown>)[key] = withKey((parent as Record<string, unknown>)[key], m)
  return root
}

/** Adds a field to an object node (as JSON.parse would: an own `__proto__` data property too). */
const withKey = (node: unknown, m: Mutation): unknown => {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return node
  const key = m.op === "proto" ? "__proto__" : m.op === "extra" ? m.key : undefined
  if (key === undefined) return node
  Object.defineProperty(node, key, {
    value: (m as { value: unknown }).value,
    enumerable: true,
    writable: true,
    configurable: true,
  })
  return node
}

const validDocument = Arbitraries.document({ maxTextLength: 40 }).map(json)

describe("FastDecode", () => {
  it.prop(
    "the fast decode of a valid document is the schema's document (same fields, values and key order)",
    [validDocument],
    ([doc]) => {
      expect(agree(doc, true)).toBe(true)
    },
    { fastCheck: { numRuns: 1000 } },
  )

  it.prop(
    "a document mutated field by field: the fast decode accepts only what the schema accepts, and decodes it the same",
    [validDocument, fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 3 })],
    ([doc, mutations]) => {
      const mutated = mutations.reduce<unknown>((root, [pick, m]) => mutate(root, pick, m), doc)
      agree(mutated, true)
    },
    { fastCheck: { numRuns: 4000 } },
  )

  it.prop(
    "arbitrary values named as a built-in kind: the fast decode and the schema agree",
    [
      fc.constantFrom("change", "announcement"),
      fc.dictionary(
        fc.constantFrom("id", "version", "title", "customers", "status", "schedule", "type", "publishAt", "links", "x"),
        fc.oneof(badValue, fc.anything({ maxDepth: 2 })),
      ),
    ],
    ([kind, fields]) => {
      agree({ kind, ...fields }, false)
    },
    { fastCheck: { numRuns: 2000 } },
  )

  it.prop(
    "arbitrary JSON values: the fast decode and the schema agree",
    [fc.jsonValue({ maxDepth: 3 })],
    ([value]) => {
      agree(value, true)
    },
    { fastCheck: { numRuns: 1000 } },
  )

  it("leaves documents with a __proto__ key, optional fields set to undefined and inherited fields to the schema", () => {
    const [sample] = fc.sample(Arbitraries.change({ maxTextLength: 10 }), { numRuns: 1, seed: 1 })
    if (sample === undefined) throw new Error("no sample")
    const doc = json(sample)
    const proto = JSON.parse(JSON.stringify(doc).replace(/^\{/, '{"__proto__":{"x":1},'))
    const nested = json(doc) as unknown as { schedule: object }
    Object.defineProperty(nested.schedule, "__proto__", { value: [], enumerable: true })
    const inherited = Object.create(json(doc))
    for (const value of [proto, nested, { ...doc, description: undefined }, inherited]) {
      expect(fastDecode(value)).toBeUndefined()
      agree(value, false)
    }
    expect(Either.isRight(fast.decode(proto, "t"))).toBe(true)
    expect(fastDecode(doc)).toBeDefined()
  })
})

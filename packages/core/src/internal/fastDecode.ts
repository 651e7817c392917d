/**
 * Hand-written decoders of the built-in kinds: the same rules as their schemas in
 * `Document.ts`, without the schema parser's per-field machinery (a decode through
 * `effect/Schema` costs ~18 us for a change document, most of Docket's CPU on a
 * cache hit). Each returns either exactly what the schema decode returns (the same
 * fields, values and key order) or `undefined` for "not sure": the registry then
 * decodes through the schema, which has the final word and writes the error.
 *
 * The rules are read from `Document.ts` (patterns, predicates, literal lists) and
 * the field lists from the schemas' ASTs, so a field added to a schema without a
 * check here fails at import rather than being let through unchecked.
 *
 * "Not sure" is answered for anything off the path of a JSON document: an own
 * `__proto__` field in an object the decoder rebuilds (the registry's schema path
 * puts those back as fields), an optional field present as `undefined`, and a
 * required field that is missing or only inherited.
 */
import * as AST from "effect/SchemaAST"
import * as Document from "../Document.js"

/** A decoded value, or `undefined`: not sure, decode through the schema. */
type Check = (value: unknown) => unknown

type Fields = Record<string, unknown>

/** The schema's `Predicate.isRecord`: an object that is not an array. */
const isRecord = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const string: Check = (v) => (typeof v === "string" ? v : undefined)

const nonEmptyText: Check = (v) => (typeof v === "string" && v.length >= 1 ? v : undefined)

const isoTimestamp: Check = (v) => (typeof v === "string" && Document.isIsoTimestamp(v) ? v : undefined)

const version: Check = (v) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 1 ? v : undefined)

const matching =
  (pattern: RegExp): Check =>
  (v) =>
    typeof v === "string" && pattern.test(v) ? v : undefined

const oneOf = (literals: ReadonlyArray<string>): Check => {
  const set = new Set<unknown>(literals)
  return (v) => (set.has(v) ? v : undefined)
}

const arrayOf =
  (element: Check): Check =>
  (v) => {
    if (!Array.isArray(v)) return undefined
    const out: Array<unknown> = []
    for (let i = 0; i < v.length; i++) {
      const decoded = element(v[i])
      if (decoded === undefined) return undefined
      out.push(decoded)
    }
    return out
  }

const customerCode = matching(Document.customerCodePattern)

const customers: Check = (v) => {
  if (!Array.isArray(v) || v.length === 0) return undefined
  const codes = arrayOf(customerCode)(v) as Array<string> | undefined
  return codes !== undefined && Document.duplicateCustomer(codes) === undefined ? codes : undefined
}

/** The property signatures of a struct schema, in the schema's order (the order of its output). */
const signatures = (schema: { readonly ast: AST.AST }): ReadonlyArray<AST.PropertySignature> => {
  const ast = AST.isRefinement(schema.ast) ? schema.ast.from : schema.ast
  if (!AST.isTypeLiteral(ast)) throw new Error(`fastDecode: ${String(ast)} is not a struct`)
  return ast.propertySignatures
}

/**
 * A struct with the `Rest` index signature: the known fields in the schema's order, each
 * checked, then the unknown ones in the input's key order, as they are (`Schema.Unknown`).
 */
const struct = (
  schema: { readonly ast: AST.AST },
  checks: Readonly<Record<string, Check>>,
  refine?: (out: Fields) => boolean,
): Check => {
  const fields = signatures(schema).map((ps) => {
    const name = String(ps.name)
    const check = checks[name]
    if (check === undefined) throw new Error(`fastDecode: no check for the field ${name}`)
    return { name, optional: ps.isOptional, check }
  })
  const known = new Set(fields.map((f) => f.name))
  for (const name of Object.keys(checks))
    if (!known.has(name)) throw new Error(`fastDecode: ${name} is not a field of the schema`)
  return (input) => {
    if (!isRecord(input)) return undefined
    const out: Fields = {}
    for (const field of fields) {
      if (!Object.hasOwn(input, field.name)) {
        if (field.optional) continue
        return undefined
      }
      const decoded = field.check(input[field.name])
      if (decoded === undefined) return undefined
      out[field.name] = decoded
    }
    for (const key of Object.keys(input)) {
      if (known.has(key)) continue
      if (key === "__proto__") return undefined
      out[key] = input[key]
    }
    return refine === undefined || refine(out) ? out : undefined
  }
}

const approval = struct(Document.Approval, { by: nonEmptyText, at: isoTimestamp })

const modification = struct(Document.Modification, {
  at: isoTimestamp,
  by: nonEmptyText,
  type: oneOf(Document.ModificationType.literals),
  note: string,
})

const schedule = struct(Document.Schedule, { start: isoTimestamp, end: isoTimestamp }, (s) =>
  Document.inOrder(s.start as string, s.end as string),
)

const link = struct(Document.Link, { title: string, url: nonEmptyText })

/** {@link Document.Change}'s decode, or `undefined` (not sure). */
export const change = struct(Document.Change, {
  kind: oneOf(Document.Change.fields.kind.literals),
  id: matching(Document.changeIdPattern),
  version,
  title: nonEmptyText,
  description: string,
  reason: string,
  customers,
  status: oneOf(Document.ChangeStatus.literals),
  schedule,
  implementationPlan: string,
  rollbackPlan: string,
  approvals: arrayOf(approval),
  modifications: arrayOf(modification),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
}) as (value: unknown) => Document.Change | undefined

/** {@link Document.Announcement}'s decode, or `undefined` (not sure). */
export const announcement = struct(Document.Announcement, {
  kind: oneOf(Document.Announcement.fields.kind.literals),
  id: matching(Document.announcementIdPattern),
  version,
  type: oneOf(Document.AnnouncementType.literals),
  title: nonEmptyText,
  summary: string,
  content: string,
  customers,
  status: oneOf(Document.AnnouncementStatus.literals),
  publishAt: isoTimestamp,
  links: arrayOf(link),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
}) as (value: unknown) => Document.Announcement | undefined

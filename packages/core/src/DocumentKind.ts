/**
 * Document kinds and the registry through which a user adds one without
 * touching core code.
 *
 * A kind says how to decode a document (its schema, and optionally `fastDecode`, a
 * faster decode of the same rules), where it lives on S3 (its
 * folder), and how to derive the index attributes: id, customers, status and
 * indexing time.
 *
 * @example
 * ```ts
 * import * as DocumentKind from "@docket/core/DocumentKind"
 * const incident = DocumentKind.make({
 *   name: "incident", folder: "incidents", idPrefix: "INC-",
 *   schema: Incident, statuses: ["open", "resolved"],
 *   customers: (d) => d.customers, status: (d) => d.status, time: (d) => d.openedAt,
 *   title: (d) => d.title,
 * })
 * const layer = DocumentKind.layer([DocumentKind.change, DocumentKind.announcement, incident])
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Document from "./Document.js"
import * as FastDecode from "./internal/fastDecode.js"

/** A kind of document Docket can cache and index. */
export interface DocumentKind<A extends Document.AnyDocument = Document.AnyDocument> {
  /** The value of the document's `kind` field, e.g. `change`. `[a-z][a-z0-9-]*`. */
  readonly name: string
  /** The S3 folder under the prefix, e.g. `changes` for `{prefix}changes/{id}.json`. */
  readonly folder: string
  /** The id prefix, e.g. `CHG-`. */
  readonly idPrefix: string
  /** Decodes the S3 JSON form (already parsed) into the document. */
  readonly schema: Schema.Schema<A, any>
  /**
   * Optional: a faster decode of the same rules, tried before {@link DocumentKind.schema}. It returns
   * the document or `undefined` ("not sure"), and the registry then decodes through the schema, which
   * has the final word and writes the error. A kind that provides one promises it never accepts what
   * the schema rejects, and that what it returns is what the registry's schema decode returns: the
   * same fields, values and key order (unknown fields after the schema's, in the input's order). The
   * built-in kinds have one; a kind without one decodes through its schema. A kind made by spreading a
   * built-in one with another `schema` must drop `fastDecode` (or bring its own), or the built-in rules
   * would still decide what that schema accepts.
   */
  readonly fastDecode?: (value: unknown) => A | undefined
  /** Every status a document of this kind can have. */
  readonly statuses: ReadonlyArray<string>
  readonly customers: (document: A) => ReadonlyArray<string>
  readonly status: (document: A) => string
  /** The indexing time, as ISO-8601 text. */
  readonly time: (document: A) => string
  readonly title: (document: A) => string
}

/** Defines a kind. */
export const make = <A extends Document.AnyDocument>(kind: DocumentKind<A>): DocumentKind<A> => kind

/** The built-in change kind: indexed by `schedule.start`. */
export const change: DocumentKind<Document.Change> = make({
  name: "change",
  folder: "changes",
  idPrefix: "CHG-",
  schema: Document.Change,
  fastDecode: FastDecode.change,
  statuses: Document.ChangeStatus.literals,
  customers: (d) => d.customers,
  status: (d) => d.status,
  time: (d) => d.schedule.start,
  title: (d) => d.title,
})

/** The built-in announcement kind: indexed by `publishAt`. */
export const announcement: DocumentKind<Document.Announcement> = make({
  name: "announcement",
  folder: "announcements",
  idPrefix: "ANN-",
  schema: Document.Announcement,
  fastDecode: FastDecode.announcement,
  statuses: Document.AnnouncementStatus.literals,
  customers: (d) => d.customers,
  status: (d) => d.status,
  time: (d) => d.publishAt,
  title: (d) => d.title,
})

/** The kinds Docket knows out of the box. */
export const builtins: ReadonlyArray<DocumentKind<any>> = [change, announcement]

/**
 * A document failed to decode: malformed JSON, a schema violation or an unknown
 * kind. `message` names the key (or source) and the field path of the problem.
 */
export class DocumentDecodeError extends Data.TaggedError("DocumentDecodeError")<{
  readonly reason: "MalformedJson" | "SchemaViolation" | "UnknownKind" | "KindMismatch"
  /** Where the document came from: an S3 key, a file name, `stdin:3`, a cache key. */
  readonly source: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return `${this.source}: ${this.detail}`
  }
}

/** The registry of kinds in use. */
export class DocumentKinds extends Context.Tag("@docket/core/DocumentKinds")<DocumentKinds, Registry>() {}

/** A set of kinds, looked up by name. */
export interface Registry {
  readonly kinds: ReadonlyArray<DocumentKind<any>>
  readonly get: (name: string) => DocumentKind<any> | undefined
  /** The kind whose folder is `folder`. */
  readonly byFolder: (folder: string) => DocumentKind<any> | undefined
  /**
   * Decodes an already-parsed JSON value into a document of a registered kind.
   * `source` names where it came from, for the error.
   */
  readonly decode: (value: unknown, source: string) => Either.Either<Document.AnyDocument, DocumentDecodeError>
  /** Parses JSON text, then {@link Registry.decode}s it. */
  readonly decodeJson: (text: string, source: string) => Either.Either<Document.AnyDocument, DocumentDecodeError>
  /** The summary projection every index item carries. */
  readonly summarize: (document: Document.AnyDocument) => Document.Summary
}

const kindPattern = /^[a-z][a-z0-9-]*$/

/**
 * Schema's decoder builds its output by assignment, so an own `__proto__` field of
 * the input (`JSON.parse` makes one for a `"__proto__"` key) would become the
 * output's prototype instead of a field, and be lost when the document is written
 * back. Puts it back as a field at every level the decoder rebuilt: Docket keeps
 * unknown fields, whatever their name.
 */
const keepProtoFields = <A>(input: unknown, output: A): A => {
  if (input === output || typeof input !== "object" || input === null || typeof output !== "object" || output === null)
    return output
  if (Array.isArray(input)) {
    if (Array.isArray(output)) for (let i = 0; i < input.length; i++) keepProtoFields(input[i], output[i])
    return output
  }
  const fields = input as Record<string, unknown>
  if (Object.hasOwn(fields, "__proto__")) {
    Object.setPrototypeOf(output, Object.prototype)
    Object.defineProperty(output, "__proto__", {
      value: Object.getOwnPropertyDescriptor(fields, "__proto__")?.value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  for (const key of Object.keys(fields)) {
    if (key !== "__proto__" && Object.hasOwn(output, key)) {
      keepProtoFields(fields[key], (output as Record<string, unknown>)[key])
    }
  }
  return output
}

/** A registry's lookups, built once by {@link registry}; the steps below read them. */
interface Index {
  readonly byName: Map<string, DocumentKind<any>>
  readonly byFolder: Map<string, DocumentKind<any>>
  /**
   * Compiled on a kind's first decode, not when the registry is built: compiling every kind's
   * decoder is most of the CPU a Lambda spends importing Docket (the default registry is built
   * at import), and a process often decodes only some of the kinds.
   */
  readonly decoders: Map<string, (value: unknown) => Either.Either<unknown, ParseResult.ParseError>>
}

/** The kinds by name and folder; throws on a bad name, a duplicate name or a shared folder. */
const indexKinds = (kinds: ReadonlyArray<DocumentKind<any>>): Index => {
  const byName = new Map<string, DocumentKind<any>>()
  const byFolder = new Map<string, DocumentKind<any>>()
  for (const kind of kinds) {
    if (!kindPattern.test(kind.name))
      throw new Error(`Document kind name ${JSON.stringify(kind.name)} must match ${kindPattern}`)
    if (byName.has(kind.name)) throw new Error(`Document kind ${kind.name} is registered twice`)
    if (byFolder.has(kind.folder)) throw new Error(`Document folder ${kind.folder} is used by two kinds`)
    byName.set(kind.name, kind)
    byFolder.set(kind.folder, kind)
  }
  return { byName, byFolder, decoders: new Map() }
}

const decoderOf = (ix: Index, kind: DocumentKind<any>) => {
  let decoder = ix.decoders.get(kind.name)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(kind.schema as Schema.Schema<any, any>, { errors: "all" })
    ix.decoders.set(kind.name, decoder)
  }
  return decoder
}

const schemaViolation = (source: string, error: ParseResult.ParseError) =>
  new DocumentDecodeError({
    reason: "SchemaViolation",
    source,
    detail: ParseResult.ArrayFormatter.formatErrorSync(error)
      .map((issue) => `${issue.path.map((p) => JSON.stringify(p)).join(".") || "(document)"}: ${issue.message}`)
      .join("; "),
    cause: error,
  })

const decodeWith = (
  ix: Index,
  value: unknown,
  source: string,
): Either.Either<Document.AnyDocument, DocumentDecodeError> => {
  const name =
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as { kind?: unknown }).kind
      : undefined
  if (typeof name !== "string") {
    return Either.left(
      new DocumentDecodeError({
        reason: "UnknownKind",
        source,
        detail: `["kind"] is missing: expected one of ${[...ix.byName.keys()].join(", ")}`,
      }),
    )
  }
  const kind = ix.byName.get(name)
  if (kind === undefined) {
    return Either.left(
      new DocumentDecodeError({
        reason: "UnknownKind",
        source,
        detail: `["kind"] ${JSON.stringify(name)} is not a registered kind (${[...ix.byName.keys()].join(", ")})`,
      }),
    )
  }
  const fast = kind.fastDecode?.(value)
  if (fast !== undefined) return Either.right(fast)
  return Either.mapLeft(
    Either.map(decoderOf(ix, kind)(value) as Either.Either<Document.AnyDocument, ParseResult.ParseError>, (document) =>
      keepProtoFields(value, document),
    ),
    (error) => schemaViolation(source, error),
  )
}

const decodeJsonWith = (
  ix: Index,
  text: string,
  source: string,
): Either.Either<Document.AnyDocument, DocumentDecodeError> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    return Either.left(
      new DocumentDecodeError({
        reason: "MalformedJson",
        source,
        detail: `malformed JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      }),
    )
  }
  return decodeWith(ix, value, source)
}

const summarizeWith = (ix: Index, document: Document.AnyDocument): Document.Summary => {
  const kind = ix.byName.get(document.kind)
  if (kind === undefined) throw new Error(`Document kind ${document.kind} is not registered`)
  return {
    kind: document.kind,
    id: document.id,
    version: document.version,
    title: kind.title(document),
    status: kind.status(document),
    customers: [...kind.customers(document)],
    time: Document.toInstant(kind.time(document)),
  }
}

/**
 * Builds a registry; fails fast (a defect) on a bad or duplicate kind definition.
 * Its operations are the named steps above (`indexKinds`, `decodeWith`,
 * `decodeJsonWith`, `summarizeWith`) over one `Index`.
 */
export const registry = (kinds: ReadonlyArray<DocumentKind<any>>): Registry => {
  const ix = indexKinds(kinds)
  return {
    kinds,
    get: (name) => ix.byName.get(name),
    byFolder: (folder) => ix.byFolder.get(folder),
    decode: (value, source) => decodeWith(ix, value, source),
    decodeJson: (text, source) => decodeJsonWith(ix, text, source),
    summarize: (document) => summarizeWith(ix, document),
  }
}

/** The registry of the built-in kinds. */
export const defaultRegistry: Registry = registry(builtins)

/** Provides a registry of the given kinds (include {@link builtins} to keep them). */
export const layer = (kinds: ReadonlyArray<DocumentKind<any>>): Layer.Layer<DocumentKinds> =>
  Layer.sync(DocumentKinds, () => registry(kinds))

/** Provides the built-in kinds. */
export const layerDefault: Layer.Layer<DocumentKinds> = Layer.succeed(DocumentKinds, defaultRegistry)

/** Decodes through the registry in context, as an Effect. */
export const decode = (value: unknown, source: string) =>
  Effect.flatMap(DocumentKinds, (kinds) => kinds.decode(value, source))

/**
 * The object codecs the DocumentStore backends share (the S3 backend and the
 * memory layer): Docket's metadata, the body and its ETag, decoding through the
 * registry, and S3's key order. Internal: the port exports only what its users
 * need of them (`ObjectMetadata`, `expectedEtag`, `sameEtag`), so the object
 * layout can change without a change to the port.
 */
import { hash } from "node:crypto"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Document from "../Document.js"
import * as DocumentKind from "../DocumentKind.js"
import * as S3Key from "../S3Key.js"

/** The object metadata Docket writes, so listings can filter without reading bodies. */
export interface ObjectMetadata {
  readonly kind: string
  readonly id: string
  readonly version: number
  /** The indexing time, normalised UTC instant. */
  readonly time: string
  readonly customers: ReadonlyArray<string>
  readonly status: string
}

/** The metadata of a document, derived through its kind. */
export const metadataOf = (registry: DocumentKind.Registry, document: Document.AnyDocument): ObjectMetadata => {
  const summary = registry.summarize(document)
  return {
    kind: summary.kind,
    id: summary.id,
    version: summary.version,
    time: summary.time,
    customers: summary.customers,
    status: summary.status,
  }
}

/**
 * S3 user metadata (`x-amz-meta-*`) as Docket writes it. S3 only carries
 * US-ASCII in metadata, so every value is percent-encoded (`encodeURIComponent`);
 * customers are joined with `,` after encoding each.
 */
export const encodeMetadata = (metadata: ObjectMetadata): Record<string, string> => ({
  kind: encodeURIComponent(metadata.kind),
  id: encodeURIComponent(metadata.id),
  version: String(metadata.version),
  time: encodeURIComponent(metadata.time),
  customers: metadata.customers.map(encodeURIComponent).join(","),
  status: encodeURIComponent(metadata.status),
})

/** Reads Docket's metadata back; `None` when it is absent or not Docket's. Keys are case-insensitive. */
export const decodeMetadata = (raw: Readonly<Record<string, string>> | undefined): Option.Option<ObjectMetadata> => {
  if (raw === undefined) return Option.none()
  const lower = new Map(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]))
  const kind = lower.get("kind")
  const id = lower.get("id")
  const version = Number(lower.get("version"))
  const time = lower.get("time")
  const customers = lower.get("customers")
  const status = lower.get("status")
  if (
    kind === undefined ||
    id === undefined ||
    !Number.isInteger(version) ||
    time === undefined ||
    customers === undefined ||
    status === undefined
  ) {
    return Option.none()
  }
  try {
    return Option.some({
      kind: decodeURIComponent(kind),
      id: decodeURIComponent(id),
      version,
      time: decodeURIComponent(time),
      customers: customers === "" ? [] : customers.split(",").map(decodeURIComponent),
      status: decodeURIComponent(status),
    })
  } catch {
    return Option.none()
  }
}

/** The body Docket writes for a document: its JSON, as it came (extra fields kept). */
export const encodeBody = (document: Document.AnyDocument): string => JSON.stringify(document)

/** An S3-style ETag of a single-part body: the MD5 in hex (without quotes); one-shot `crypto.hash`. */
export const etagOf = (body: string | Uint8Array): string => hash("md5", body, "hex")

/**
 * Strips the quotes S3 puts around ETags: a leading and a trailing `"`, each if present
 * (what `replace(/^"|"$/g, "")` does, without a regex per object read).
 */
export const normalizeEtag = (etag: string | undefined): string => {
  if (etag === undefined) return ""
  const start = etag.startsWith('"') ? 1 : 0
  const end = etag.length > start && etag.endsWith('"') ? etag.length - 1 : etag.length
  return start === 0 && end === etag.length ? etag : etag.slice(start, end)
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Decodes the bytes of the object at `key` through the registry: malformed
 * UTF-8 or JSON and schema violations are a {@link DocumentKind.DocumentDecodeError}
 * naming `s3://bucket/key`. When the key is a document key, the document's
 * kind and id must match it (`KindMismatch` otherwise).
 */
export const decodeBody = (
  registry: DocumentKind.Registry,
  options: { readonly prefix: string; readonly source: string },
  key: string,
  bytes: Uint8Array,
): Either.Either<Document.AnyDocument, DocumentKind.DocumentDecodeError> => {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch (cause) {
    return Either.left(
      new DocumentKind.DocumentDecodeError({
        reason: "MalformedJson",
        source: options.source,
        detail: "the body is not valid UTF-8",
        cause,
      }),
    )
  }
  return Either.flatMap(registry.decodeJson(text, options.source), (document) => {
    const expected = S3Key.parse(options.prefix, key, registry)
    if (Option.isSome(expected) && (expected.value.kind !== document.kind || expected.value.id !== document.id)) {
      return Either.left(
        new DocumentKind.DocumentDecodeError({
          reason: "KindMismatch",
          source: options.source,
          detail: `the key names ${expected.value.kind} ${expected.value.id} but the body is ${document.kind} ${document.id}`,
        }),
      )
    }
    return Either.right(document)
  })
}

/** Compares keys in S3's listing order: UTF-8 bytes, not UTF-16 code units. */
export const compareKeys = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

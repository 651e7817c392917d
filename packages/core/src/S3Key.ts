/**
 * The S3 key layout (DESIGN section 3): `{prefix}{folder}/{id}.json`, e.g.
 * `changes/CHG-2026-000123.json`, and the same under `customers/{code}/` which
 * also names a customer of the document.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Document from "./Document.js"
import type * as DocumentKind from "./DocumentKind.js"

/** The key of a document. `prefix` is used as given (include a trailing `/`). */
export const forDocument = (prefix: string, kind: DocumentKind.DocumentKind<any>, id: string): string =>
  `${prefix}${kind.folder}/${id}.json`

/** What a key says about the document it holds. */
export interface ParsedKey {
  readonly kind: string
  readonly id: string
  /** Set when the key sits under `customers/{code}/`. */
  readonly customer?: string
}

const customerSegment = new RegExp(`^customers/(${Document.customerCodeRule})/(.*)$`)

/**
 * Maps a (decoded) key to the document it holds, or `None` when it is not a
 * document key of a registered kind under `prefix`.
 */
export const parse = (prefix: string, key: string, kinds: DocumentKind.Registry): Option.Option<ParsedKey> => {
  if (!key.startsWith(prefix)) return Option.none()
  let rest = key.slice(prefix.length)
  let customer: string | undefined
  const underCustomer = customerSegment.exec(rest)
  if (underCustomer !== null) {
    customer = underCustomer[1]
    rest = underCustomer[2] ?? ""
  }
  const slash = rest.indexOf("/")
  if (slash <= 0 || !rest.endsWith(".json")) return Option.none()
  const kind = kinds.byFolder(rest.slice(0, slash))
  if (kind === undefined) return Option.none()
  const id = rest.slice(slash + 1, -".json".length)
  if (!id.startsWith(kind.idPrefix) || !/^[A-Za-z0-9-]{1,64}$/.test(id.slice(kind.idPrefix.length)))
    return Option.none()
  return Option.some(customer === undefined ? { kind: kind.name, id } : { kind: kind.name, id, customer })
}

/** An S3 event key could not be URL-decoded. */
export class KeyDecodeError extends Data.TaggedError("KeyDecodeError")<{
  readonly key: string
  readonly cause: unknown
}> {
  override get message() {
    return `S3 event key ${JSON.stringify(this.key)} is not valid URL encoding`
  }
}

/**
 * Decodes a key as S3 event notifications carry it: `+` is a space, then
 * percent-decoding (so `%2B` is a literal `+`).
 *
 * @example
 * ```ts
 * decodeEventKey("changes/a+b%2Bc%C3%A9.json") // Right("changes/a b+cé.json")
 * ```
 */
export const decodeEventKey = (raw: string): Either.Either<string, KeyDecodeError> =>
  Either.try({
    try: () => decodeURIComponent(raw.replace(/\+/g, " ")),
    catch: (cause) => new KeyDecodeError({ key: raw, cause }),
  })

/**
 * Encodes a key the way S3 event notifications do (the inverse of
 * {@link decodeEventKey}): used by the local stack to produce real-format events.
 */
export const encodeEventKey = (key: string): string =>
  encodeURIComponent(key)
    .replace(/%20/g, "+")
    .replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

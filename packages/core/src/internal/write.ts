/**
 * The write rules every DocumentCache backend applies: the version rule, the
 * conditions of conditional writes, and content hashes (so a same-version
 * rewrite is recognised even when the item holds a pointer instead of a body).
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as CacheEntry from "../CacheEntry.js"
import { CacheError, ConditionFailedError, StaleWriteError } from "../CacheError.js"
import * as Document from "../Document.js"
import type { Condition, PutOptions, Service } from "../DocumentCache.js"
import { isValid, normalizeSequencer } from "../Sequencer.js"

/** A document item as stored: its entry and, when known, the hash of its content. */
export interface Stored {
  readonly entry: CacheEntry.Entry
  readonly contentHash: string | undefined
}

/** What a put must do. */
export type Decision =
  | { readonly _tag: "Write" }
  | { readonly _tag: "Unchanged"; readonly current: CacheEntry.Entry }
  | { readonly _tag: "Fail"; readonly error: StaleWriteError | ConditionFailedError }

/** `kind/id`, the key errors and logs name. */
export const keyOf = (kind: string, id: string): string => `${kind}/${id}`

/** SHA-256 of the canonical JSON of a document (key order does not count). */
export const contentHash = (document: unknown): string =>
  createHash("sha256").update(Document.canonicalJson(document)).digest("base64url")

/** A condition as text, for errors and logs. */
export const describe = (condition: Condition): string => {
  switch (condition._tag) {
    case "VersionIs":
      return `version is ${condition.version}`
    case "Absent":
      return "no item"
    case "SequencerBefore":
      return `sequencer before ${normalizeSequencer(condition.sequencer)}`
  }
}

/** Whether `condition` holds for what is stored (tombstones and expired entries count as stored). */
export const holds = (stored: Option.Option<CacheEntry.Entry>, condition: Condition): boolean => {
  switch (condition._tag) {
    case "VersionIs":
      return (
        Option.isSome(stored) && stored.value._tag === "Cached" && stored.value.summary.version === condition.version
      )
    case "Absent":
      return Option.isNone(stored)
    case "SequencerBefore":
      return (
        Option.isNone(stored) ||
        stored.value.sequencer === undefined ||
        stored.value.sequencer < normalizeSequencer(condition.sequencer)
      )
  }
}

/** Checks a condition, failing with a {@link ConditionFailedError} naming it. */
export const checkCondition = (
  key: string,
  operation: string,
  stored: Option.Option<CacheEntry.Entry>,
  condition: Condition | undefined,
): ConditionFailedError | undefined =>
  condition === undefined || holds(stored, condition)
    ? undefined
    : new ConditionFailedError({ key, operation, condition: describe(condition) })

/**
 * The version rule (or the caller's condition): what a put of `document` does
 * given what is stored.
 *
 * - same version and same content (and no newer sequencer to record): `Unchanged`;
 * - with a condition: write when it holds, else `ConditionFailedError`;
 * - without: a newer version (or nothing, or a tombstone) is written; an older
 *   version, or the same version with other content, is a `StaleWriteError`.
 */
export const decidePut = (
  document: Document.AnyDocument,
  hash: string,
  options: PutOptions,
  stored: Option.Option<Stored>,
): Decision => {
  const key = keyOf(document.kind, document.id)
  const entry = Option.map(stored, (s) => s.entry)
  if (Option.isSome(stored) && stored.value.entry._tag === "Cached") {
    const current = stored.value.entry
    const same = current.summary.version === document.version && stored.value.contentHash === hash
    const newerSequencer =
      options.sequencer !== undefined &&
      (current.sequencer === undefined || current.sequencer < normalizeSequencer(options.sequencer))
    if (same && !newerSequencer) return { _tag: "Unchanged", current }
    if (options.condition === undefined) {
      if (current.summary.version > document.version) {
        return {
          _tag: "Fail",
          error: new StaleWriteError({
            key,
            attemptedVersion: document.version,
            storedVersion: current.summary.version,
            reason: "OlderVersion",
          }),
        }
      }
      if (current.summary.version === document.version && !same) {
        return {
          _tag: "Fail",
          error: new StaleWriteError({
            key,
            attemptedVersion: document.version,
            storedVersion: current.summary.version,
            reason: "SameVersionDifferentContent",
          }),
        }
      }
    }
  }
  const failed = checkCondition(key, "put", entry, options.condition)
  return failed === undefined ? { _tag: "Write" } : { _tag: "Fail", error: failed }
}

const badSequencer = (
  operation: string,
  key: string,
  sequencer: string | undefined,
  condition: Condition | undefined,
): CacheError | undefined => {
  const values = [sequencer, condition?._tag === "SequencerBefore" ? condition.sequencer : undefined]
  const bad = values.find((s) => s !== undefined && !isValid(s))
  return bad === undefined
    ? undefined
    : new CacheError({
        reason: "Invalid",
        operation,
        key,
        cause: `not an S3 sequencer (hex, at most 32 digits): ${JSON.stringify(bad)}`,
      })
}

/** Rejects malformed sequencers with a typed {@link CacheError} (reason `Invalid`) before a backend sees them. */
export const validated = (service: Service): Service => ({
  ...service,
  put: (document, options) => {
    const error = badSequencer("put", keyOf(document.kind, document.id), options.sequencer, options.condition)
    return error === undefined ? service.put(document, options) : Effect.fail(error)
  },
  delete: (kind, id, options) => {
    const error = badSequencer("delete", keyOf(kind, id), undefined, options?.condition)
    return error === undefined ? service.delete(kind, id, options) : Effect.fail(error)
  },
  tombstone: (kind, id, options) => {
    const error = badSequencer("tombstone", keyOf(kind, id), options.sequencer, options.condition)
    return error === undefined ? service.tombstone(kind, id, options) : Effect.fail(error)
  },
  restore: (kind, id, previous, condition) => {
    const error = badSequencer("restore", keyOf(kind, id), undefined, condition)
    return error === undefined ? service.restore(kind, id, previous, condition) : Effect.fail(error)
  },
})

/**
 * The write rules every DocumentCache backend applies: the version rule, the
 * conditions of conditional writes, and content hashes (so a same-version
 * rewrite is recognised even when the item holds a pointer instead of a body).
 */
import { hash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as CacheEntry from "../CacheEntry.js"
import { CacheError, ConditionFailedError, noIntentCondition, StaleWriteError } from "../CacheError.js"
import * as Document from "../Document.js"
import { isValid, normalizeSequencer } from "../Sequencer.js"
import type { CommitRequest, Condition, Intent, IntentRequest, PutOptions, Service } from "./cacheTypes.js"

/** A document item as stored: its entry and, when known, the hash of its content. */
export interface Stored {
  readonly entry: CacheEntry.Entry
  readonly contentHash: string | undefined
}

/** A document item: its committed entry (if any) and the intent recorded next to it (if any). */
export interface Slot {
  readonly committed: Option.Option<Stored>
  readonly intent: Option.Option<Intent>
}

/** The condition every non-protocol write adds: no writer holds the document. */
export const noIntent = noIntentCondition

/** Fails a non-protocol write on a document that carries an intent. */
export const checkNoIntent = (
  key: string,
  operation: string,
  intent: Option.Option<Intent>,
): ConditionFailedError | undefined =>
  Option.isSome(intent) ? new ConditionFailedError({ key, operation, condition: noIntent }) : undefined

/** What recording an intent must do. */
export type IntentDecision =
  | { readonly _tag: "Record" }
  | { readonly _tag: "Unchanged"; readonly current: CacheEntry.Entry }
  | { readonly _tag: "Blocked"; readonly intent: Intent }
  | { readonly _tag: "Fail"; readonly error: StaleWriteError }

/**
 * The rule of {@link Service.intend}, shared by every backend (DynamoDB applies it
 * in a `ConditionExpression` and re-decides here on the state it returns):
 * the version rule against the committed document first (a put of an older
 * version fails whatever else is there; the same content is `Unchanged`), then
 * any intent blocks.
 */
export const decideIntent = (request: IntentRequest, slot: Slot): IntentDecision => {
  const key = keyOf(request.kind, request.id)
  const change = request.change
  if (change._tag === "Put" && Option.isSome(slot.committed) && slot.committed.value.entry._tag === "Cached") {
    const current = slot.committed.value.entry
    const version = change.document.version
    if (current.summary.version > version) {
      return {
        _tag: "Fail",
        error: new StaleWriteError({
          key,
          attemptedVersion: version,
          storedVersion: current.summary.version,
          reason: "OlderVersion",
        }),
      }
    }
    if (current.summary.version === version) {
      if (slot.committed.value.contentHash === contentHash(change.document)) {
        // Another writer's pending intent may already be in S3 (its put of a higher version: an intent is only
        // recorded over a lower committed version; or its delete): "unchanged" is only true once it is settled.
        const pending = slot.intent
        if (Option.isSome(pending) && pending.value.writer !== request.writer) {
          return { _tag: "Blocked", intent: pending.value }
        }
        return { _tag: "Unchanged", current }
      }
      return {
        _tag: "Fail",
        error: new StaleWriteError({
          key,
          attemptedVersion: version,
          storedVersion: current.summary.version,
          reason: "SameVersionDifferentContent",
        }),
      }
    }
  }
  // Our own intent: an earlier attempt of this request landed and its answer was lost.
  if (Option.isSome(slot.intent) && slot.intent.value.writer !== request.writer) {
    return { _tag: "Blocked", intent: slot.intent.value }
  }
  return { _tag: "Record" }
}

/** The intent a request records. */
export const intentOf = (request: IntentRequest): Intent => ({
  writer: request.writer,
  operation: request.change._tag === "Put" ? "put" : "delete",
  ...(request.change._tag === "Put" ? { version: request.change.document.version, etag: request.change.etag } : {}),
  s3Key: request.s3Key,
  leaseExpiresAt: request.leaseExpiresAt,
})

/** Whether the committed entry is exactly what `request` commits. */
export const isCommitted = (request: CommitRequest, committed: Option.Option<CacheEntry.Entry>): boolean => {
  if (Option.isNone(committed)) return false
  const entry = committed.value
  const change = request.change
  return change._tag === "Put"
    ? entry._tag === "Cached" && entry.summary.version === change.document.version && entry.etag === change.etag
    : entry._tag === "Tombstone"
}

/** What a commit must do given the document item: commit, report it done already, or fail. */
export const decideCommit = (
  request: CommitRequest,
  slot: Slot,
):
  | { readonly _tag: "Commit" }
  | { readonly _tag: "Already" }
  | { readonly _tag: "Fail"; readonly error: ConditionFailedError } => {
  if (Option.isSome(slot.intent) && slot.intent.value.writer === request.writer) return { _tag: "Commit" }
  if (
    isCommitted(
      request,
      Option.map(slot.committed, (s) => s.entry),
    )
  )
    return { _tag: "Already" }
  return {
    _tag: "Fail",
    error: new ConditionFailedError({
      key: keyOf(request.kind, request.id),
      operation: "commit",
      condition: `intent of writer ${request.writer}`,
    }),
  }
}

/** What a put must do. */
export type Decision =
  | { readonly _tag: "Write" }
  | { readonly _tag: "Unchanged"; readonly current: CacheEntry.Entry }
  | { readonly _tag: "Fail"; readonly error: StaleWriteError | ConditionFailedError }

/** `kind/id`, the key errors and logs name. */
export const keyOf = (kind: string, id: string): string => `${kind}/${id}`

/**
 * SHA-256 of the canonical JSON of a document (key order does not count). One-shot `crypto.hash`
 * (no Hash object per call: ~1 us less than `createHash().update().digest()`).
 */
export const contentHash = (document: unknown): string => hash("sha256", Document.canonicalJson(document), "base64url")

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

/**
 * A protocol change that is neither a put nor a delete (the types forbid it; a caller
 * outside them, or a bug, can still send one): refused, never taken for a delete.
 */
const badChange = (
  operation: string,
  request: { readonly kind: string; readonly id: string; readonly change: { readonly _tag: unknown } },
): CacheError | undefined =>
  request.change._tag === "Put" || request.change._tag === "Delete"
    ? undefined
    : new CacheError({
        reason: "Invalid",
        operation,
        key: keyOf(request.kind, request.id),
        cause: `a ${operation} change is a Put or a Delete, not ${JSON.stringify(request.change._tag)}`,
      })

/**
 * Rejects malformed requests with a typed {@link CacheError} (reason `Invalid`) before a
 * backend sees them: sequencers that are not S3's, and protocol changes that are neither
 * `Put` nor `Delete` (both backends would otherwise take any other tag for a delete).
 */
export const validated = (service: Service): Service => ({
  ...service,
  intend: (request) => {
    const error = badChange("intend", request)
    return error === undefined ? service.intend(request) : Effect.fail(error)
  },
  commit: (request) => {
    const error = badChange("commit", request)
    return error === undefined ? service.commit(request) : Effect.fail(error)
  },
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

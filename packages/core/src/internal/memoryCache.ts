/**
 * The memory layer of the DocumentCache port (exported by `DocumentCache.ts`):
 * the same behaviour as the DynamoDB backend, which one contract suite checks.
 * Each document item is a {@link Write.Slot}: its committed entry and its intent.
 * Each operation is a named module-level step (`get`, `put`, `remove`, `intend`,
 * `commit`, ...) over the {@link Memory} record (`memoryState.ts`) that `make` builds
 * once; the steps over many documents (queries, pages, scan, fingerprints) are in
 * `memoryQueries.ts`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "../CacheEntry.js"
import { CacheError, type ConditionFailedError } from "../CacheError.js"
import type * as Document from "../Document.js"
import { DocumentKinds } from "../DocumentKind.js"
import * as OperationLog from "../OperationLog.js"
import { normalizeSequencer } from "../Sequencer.js"
import * as Table from "../Table.js"
import type {
  CommitOutcome,
  Condition,
  DeleteOutcome,
  IntentOutcome,
  PendingIntent,
  PutOutcome,
  Service,
  Snapshot,
} from "./cacheTypes.js"
import { fingerprints, page, query, scanAll } from "./memoryQueries.js"
import { type Item, type Memory, pk, type Step, slot, slotOf, storedEntry } from "./memoryState.js"
import * as Write from "./write.js"

/** Options of the memory layer. */
export interface Options {
  /** Retention window in days, as `DOCKET_TTL_DAYS` (default 365). */
  readonly retentionDays?: number
  /** Log mutations and change nothing. */
  readonly dryRun?: boolean
  /** Shards of a status index partition, as the DynamoDB backend's option (default `Table.statusShards`). */
  readonly statusShards?: number
}

/**
 * What a memory snapshot keeps: the item object it read (`undefined`: none). Every change
 * replaces that object, so "the object is still there" is the memory layer's revision
 * guard, as `rev` is the DynamoDB backend's.
 */
class Seen {
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly item: Item | undefined,
  ) {}
}

/**
 * What a write decides on first: the snapshot's item when the caller passed one of this
 * document (`seen`), else the item now. `moved`: the item changed since the snapshot, so a
 * write decided on it is decided again on the item now; a decision not to write stands as
 * of the snapshot (the DynamoDB backend's behaviour: its guard is checked only by a write).
 */
const basisOf = (m: Memory, kind: string, id: string, snapshot: Snapshot | undefined) => {
  const seen =
    snapshot?.seen instanceof Seen && snapshot.seen.kind === kind && snapshot.seen.id === id ? snapshot.seen : undefined
  return seen === undefined
    ? { slot: slot(m, kind, id), moved: false }
    : { slot: slotOf(seen.item), moved: m.items.get(pk(kind, id)) !== seen.item }
}
const set = (m: Memory, kind: string, id: string, item: Item) =>
  item.committed === undefined && item.intent === undefined
    ? m.items.delete(pk(kind, id))
    : m.items.set(pk(kind, id), item)
const setCommitted = (m: Memory, kind: string, id: string, committed: Write.Stored | undefined) =>
  set(m, kind, id, { committed, intent: m.items.get(pk(kind, id))?.intent })
const mutate = (m: Memory, f: () => void) => Effect.sync(() => (m.dryRun ? undefined : f()))
const log = <A, E>(
  m: Memory,
  operation: string,
  key: string,
  self: Effect.Effect<A, E>,
  describe?: (a: A) => OperationLog.Fields,
) =>
  OperationLog.logged<A>(
    operation,
    { backend: "memory", key, ...(m.dryRun ? { dryRun: m.dryRun } : {}) },
    describe === undefined ? { level: "debug" } : { level: "debug", describe },
  )(self)

const get: Step<"get"> = (m, kind, id, getOptions) =>
  log(
    m,
    "cache.get",
    Write.keyOf(kind, id),
    Effect.map(Clock.currentTimeMillis, (now) =>
      Option.filter(
        storedEntry(m, kind, id),
        (entry) => getOptions?.includeExpired === true || !CacheEntry.isExpired(entry.expiresAt, now),
      ),
    ),
    (entry) => ({ outcome: Option.isSome(entry) ? entry.value._tag : "Absent" }),
  )

const cachedEntry = (
  m: Memory,
  document: Document.AnyDocument,
  provenance: CacheEntry.Provenance & { s3Key: string },
) => {
  const summary = m.registry.summarize(document)
  const entry: CacheEntry.CachedDocument = {
    _tag: "Cached",
    summary,
    document,
    s3Key: provenance.s3Key,
    expiresAt: CacheEntry.expiresAt(summary.time, m.retentionDays),
    ...(provenance.etag !== undefined ? { etag: provenance.etag } : {}),
    ...(provenance.sequencer !== undefined ? { sequencer: normalizeSequencer(provenance.sequencer) } : {}),
  }
  return { entry, contentHash: Write.contentHash(document) }
}

const put: Step<"put"> = (m, document, putOptions) => {
  const key = Write.keyOf(document.kind, document.id)
  return log(
    m,
    "cache.put",
    key,
    Effect.gen(function* () {
      if (m.registry.get(document.kind) === undefined) {
        return yield* new CacheError({ reason: "Invalid", operation: "put", key, cause: "unregistered kind" })
      }
      const hash = Write.contentHash(document)
      let basis = basisOf(m, document.kind, document.id, putOptions.seen)
      for (;;) {
        const current = basis.slot
        const decision = Write.decidePut(document, hash, putOptions, current.committed)
        if (decision._tag === "Fail") return yield* decision.error
        if (decision._tag === "Unchanged") return { _tag: "Unchanged", current: decision.current } as PutOutcome
        const held = Write.checkNoIntent(key, "put", current.intent)
        if (held !== undefined) return yield* held
        if (basis.moved) {
          basis = { slot: slot(m, document.kind, document.id), moved: false }
          continue
        }
        const next = cachedEntry(m, document, putOptions)
        yield* mutate(m, () => setCommitted(m, document.kind, document.id, next))
        return { _tag: "Written", previous: Option.map(current.committed, (p) => p.entry) } as PutOutcome
      }
    }),
    (outcome) => ({ outcome: outcome._tag }),
  )
}

const remove = (
  m: Memory,
  operation: string,
  kind: string,
  id: string,
  condition: Condition | undefined,
  replacement: (now: number) => Write.Stored | undefined,
  snapshot?: Snapshot,
): Effect.Effect<DeleteOutcome, ConditionFailedError> =>
  log(
    m,
    `cache.${operation}`,
    Write.keyOf(kind, id),
    Effect.gen(function* () {
      let basis = basisOf(m, kind, id, snapshot)
      let current = basis.slot
      for (;;) {
        const failed =
          Write.checkCondition(
            Write.keyOf(kind, id),
            operation,
            Option.map(current.committed, (s) => s.entry),
            condition,
          ) ?? Write.checkNoIntent(Write.keyOf(kind, id), operation, current.intent)
        if (failed !== undefined) return yield* failed
        if (!basis.moved) break
        basis = { slot: slot(m, kind, id), moved: false }
        current = basis.slot
      }
      const previous = Option.map(current.committed, (s) => s.entry)
      const now = yield* Clock.currentTimeMillis
      const next = replacement(now)
      yield* mutate(m, () => setCommitted(m, kind, id, next))
      return Option.match(previous, {
        onNone: (): DeleteOutcome => ({ _tag: "Absent" }),
        onSome: (entry): DeleteOutcome => ({ _tag: "Deleted", previous: entry }),
      })
    }),
    (outcome) => ({ outcome: outcome._tag }),
  )

const restore: Step<"restore"> = (m, kind, id, previous, condition) =>
  log(
    m,
    "cache.restore",
    Write.keyOf(kind, id),
    Effect.gen(function* () {
      const current = slot(m, kind, id)
      const failed =
        Write.checkCondition(
          Write.keyOf(kind, id),
          "restore",
          Option.map(current.committed, (s) => s.entry),
          condition,
        ) ?? Write.checkNoIntent(Write.keyOf(kind, id), "restore", current.intent)
      if (failed !== undefined) return yield* failed
      yield* mutate(m, () =>
        setCommitted(
          m,
          kind,
          id,
          Option.match(previous, {
            onNone: () => undefined,
            onSome: (entry) => ({
              entry,
              contentHash:
                entry._tag === "Cached" && entry.document !== undefined ? Write.contentHash(entry.document) : undefined,
            }),
          }),
        ),
      )
    }),
  )

const tombstoneOf = (kind: string, id: string, expiresAt: number, provenance: CacheEntry.Provenance): Write.Stored => ({
  entry: {
    _tag: "Tombstone",
    kind,
    id,
    expiresAt,
    ...(provenance.etag !== undefined ? { etag: provenance.etag } : {}),
    ...(provenance.sequencer !== undefined ? { sequencer: normalizeSequencer(provenance.sequencer) } : {}),
  },
  contentHash: undefined,
})

const inspect: Step<"inspect"> = (m, kind, id) =>
  log(
    m,
    "cache.inspect",
    Write.keyOf(kind, id),
    Effect.sync(() => {
      const current = slot(m, kind, id)
      return { entry: Option.map(current.committed, (s) => s.entry), intent: current.intent }
    }),
  )

const snapshot: Step<"snapshot"> = (m, kind, id) =>
  log(
    m,
    "cache.snapshot",
    Write.keyOf(kind, id),
    Effect.sync(() => {
      const item = m.items.get(pk(kind, id))
      const read = slotOf(item)
      return {
        kind,
        id,
        entry: Option.map(read.committed, (s) => s.entry),
        intent: read.intent,
        seen: new Seen(kind, id, item),
      }
    }),
  )

const intend: Step<"intend"> = (m, request) =>
  log(
    m,
    "cache.intend",
    Write.keyOf(request.kind, request.id),
    Effect.gen(function* () {
      const key = Write.keyOf(request.kind, request.id)
      if (request.change._tag === "Put" && m.registry.get(request.change.document.kind) === undefined) {
        return yield* new CacheError({ reason: "Invalid", operation: "intend", key, cause: "unregistered kind" })
      }
      const current = slot(m, request.kind, request.id)
      const previous = Option.map(current.committed, (s) => s.entry)
      const decision = Write.decideIntent(request, current)
      switch (decision._tag) {
        case "Fail":
          return yield* decision.error
        case "Unchanged":
          return { _tag: "Unchanged", current: decision.current } as IntentOutcome
        case "Blocked":
          return { _tag: "Blocked", intent: decision.intent, previous } as IntentOutcome
        case "Record":
          yield* mutate(m, () =>
            set(m, request.kind, request.id, {
              committed: Option.getOrUndefined(current.committed),
              intent: Write.intentOf(request),
            }),
          )
          return { _tag: "Recorded", previous } as IntentOutcome
      }
    }),
    (outcome) => ({ outcome: outcome._tag }),
  )

const commit: Step<"commit"> = (m, request) =>
  log(
    m,
    "cache.commit",
    Write.keyOf(request.kind, request.id),
    Effect.gen(function* () {
      const decision = Write.decideCommit(request, slot(m, request.kind, request.id))
      if (decision._tag === "Fail") return yield* decision.error
      if (decision._tag === "Already") return { _tag: "AlreadyCommitted" } as CommitOutcome
      const change = request.change
      const now = yield* Clock.currentTimeMillis
      const committed =
        change._tag === "Put"
          ? cachedEntry(m, change.document, { s3Key: change.s3Key, etag: change.etag })
          : tombstoneOf(
              request.kind,
              request.id,
              Math.floor(now / 1000) + Math.max(1, Math.round(change.ttlSeconds)),
              change.etag !== undefined ? { etag: change.etag } : {},
            )
      yield* mutate(m, () => set(m, request.kind, request.id, { committed, intent: undefined }))
      return { _tag: "Committed" } as CommitOutcome
    }),
    (outcome) => ({ outcome: outcome._tag }),
  )

const clearIntent: Step<"clearIntent"> = (m, kind, id, writer) =>
  log(
    m,
    "cache.clearIntent",
    Write.keyOf(kind, id),
    mutate(m, () => {
      const item = m.items.get(pk(kind, id))
      if (item?.intent?.writer === writer) set(m, kind, id, { committed: item.committed, intent: undefined })
    }),
  )

const intents: Step<"intents"> = (m, { expiredBefore }) =>
  Stream.suspend(() =>
    Stream.fromIterable(
      [...m.items.entries()]
        .flatMap(([key, item]): Array<PendingIntent> => {
          if (item.intent === undefined || item.intent.leaseExpiresAt >= expiredBefore) return []
          const parsed = Table.parseDocumentPk(key)
          return parsed === undefined ? [] : [{ ...parsed, intent: item.intent }]
        })
        .sort((a, b) => a.intent.leaseExpiresAt - b.intent.leaseExpiresAt),
    ),
  )

const tombstone: Step<"tombstone"> = (m, kind, id, tombstoneOptions) =>
  remove(
    m,
    "tombstone",
    kind,
    id,
    tombstoneOptions.condition,
    (now) =>
      tombstoneOf(
        kind,
        id,
        Math.floor(now / 1000) + Math.max(1, Math.round(tombstoneOptions.ttlSeconds)),
        tombstoneOptions,
      ),
    tombstoneOptions.seen,
  )

/** Builds the memory cache: its state, and each operation a step above over it. */
export const make = (options: Options = {}): Effect.Effect<Service, never, DocumentKinds> =>
  Effect.map(DocumentKinds, (registry) => {
    const m: Memory = {
      registry,
      retentionDays: options.retentionDays ?? 365,
      dryRun: options.dryRun === true,
      statusShards: Math.max(1, Math.floor(options.statusShards ?? Table.statusShards)),
      items: new Map<string, Item>(),
    }
    return Write.validated({
      get: (kind, id, getOptions) => get(m, kind, id, getOptions),
      fingerprints: (refs) => fingerprints(m, refs),
      scan: (scanOptions) => scanAll(m, scanOptions),
      put: (document, putOptions) => put(m, document, putOptions),
      delete: (kind, id, deleteOptions) => remove(m, "delete", kind, id, deleteOptions?.condition, () => undefined),
      tombstone: (kind, id, tombstoneOptions) => tombstone(m, kind, id, tombstoneOptions),
      restore: (kind, id, previous, condition) => restore(m, kind, id, previous, condition),
      inspect: (kind, id) => inspect(m, kind, id),
      snapshot: (kind, id) => snapshot(m, kind, id),
      intend: (request) => intend(m, request),
      commit: (request) => commit(m, request),
      clearIntent: (kind, id, writer) => clearIntent(m, kind, id, writer),
      intents: (intentOptions) => intents(m, intentOptions),
      query: (q) => query(m, q),
      page: (q, pageOptions) => page(m, q, pageOptions),
    })
  })

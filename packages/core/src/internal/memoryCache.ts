/**
 * The memory layer of the DocumentCache port (exported by `DocumentCache.ts`):
 * the same behaviour as the DynamoDB backend, which one contract suite checks.
 * Each document item is a {@link Write.Slot}: its committed entry and its intent.
 * Each operation is a named module-level step (`get`, `put`, `remove`, `intend`,
 * `commit`, `scan`, ...) over the {@link Memory} record that `make` builds once.
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
import * as Bulk from "./bulk.js"
import type {
  CommitOutcome,
  Condition,
  DeleteOutcome,
  Intent,
  IntentOutcome,
  PendingIntent,
  PutOutcome,
  Service,
  Snapshot,
} from "./cacheTypes.js"
import { mergeSorted } from "./merge.js"
import * as QueryPlan from "./query.js"
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

interface Item {
  readonly committed: Write.Stored | undefined
  readonly intent: Intent | undefined
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

/** The memory cache's state and settings, built once in `make`; every step below reads it. */
interface Memory {
  readonly registry: DocumentKinds["Type"]
  readonly retentionDays: number
  readonly dryRun: boolean
  readonly statusShards: number
  readonly items: Map<string, Item>
}

/** A step of the service: its operation with the {@link Memory} first. */
type Step<K extends keyof Service> = Service[K] extends (...args: infer A) => infer R
  ? (m: Memory, ...args: A) => R
  : never

const pk = (kind: string, id: string) => Table.documentPk(kind, id)

const slotOf = (item: Item | undefined): Write.Slot => ({
  committed: Option.fromNullable(item?.committed),
  intent: Option.fromNullable(item?.intent),
})
const slot = (m: Memory, kind: string, id: string): Write.Slot => slotOf(m.items.get(pk(kind, id)))

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
const stored = (m: Memory, kind: string, id: string) => slot(m, kind, id).committed
const storedEntry = (m: Memory, kind: string, id: string) => Option.map(stored(m, kind, id), (s) => s.entry)
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

const matching = (m: Memory, plan: QueryPlan.Plan, now: number): Array<Document.Summary> =>
  [...m.items.values()].flatMap(({ committed }) =>
    committed !== undefined &&
    committed.entry._tag === "Cached" &&
    !CacheEntry.isExpired(committed.entry.expiresAt, now) &&
    QueryPlan.matches(plan, committed.entry.summary)
      ? [committed.entry.summary]
      : [],
  )

// A status query reads its partitions the way DynamoDB does: one sorted stream per kind and
// shard, merged in order (the same merge as the DynamoDB backend).
const scan = (m: Memory, plan: QueryPlan.Plan, now: number): Stream.Stream<Document.Summary> =>
  Stream.suspend(() => {
    const found = matching(m, plan, now)
    if (plan.target._tag !== "Status") return Stream.fromIterable(found.sort(QueryPlan.compare))
    const status = plan.target.status
    const partitions = new Map(
      plan.kinds.flatMap((kind) =>
        Table.statusPartitions(kind, status, m.statusShards).map((key) => [key, [] as Array<Document.Summary>]),
      ),
    )
    for (const s of found) partitions.get(Table.statusPkOf(s.kind, s.status, s.id, m.statusShards))?.push(s)
    return mergeSorted(
      [...partitions.values()].map((part) => Stream.fromIterable(part.sort(QueryPlan.compare))),
      QueryPlan.compare,
    )
  })

const fingerprints: Step<"fingerprints"> = (m, refs) =>
  Effect.sync(() =>
    [...new Map(refs.map((ref) => [pk(ref.kind, ref.id), ref])).values()].flatMap((ref) =>
      Option.toArray(Option.map(storedEntry(m, ref.kind, ref.id), Bulk.fingerprintOf)),
    ),
  )

const scanAll: Step<"scan"> = (m, scanOptions) =>
  Stream.suspend(() => {
    const segments = Bulk.segmentCount(scanOptions)
    const entries = [...m.items.entries()].flatMap(([key, item]) =>
      item.committed === undefined ? [] : [[key, item.committed] as const],
    )
    return Stream.mergeAll(
      Array.from({ length: segments }, (_, segment) =>
        Stream.fromIterable(entries).pipe(
          Stream.filter(([key]) => Bulk.segmentOf(key, segments) === segment),
          Stream.map(([, s]) => Bulk.fingerprintOf(s.entry)),
        ),
      ),
      { concurrency: "unbounded" },
    )
  })

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

const query: Step<"query"> = (m, query) =>
  Stream.unwrap(
    Effect.gen(function* () {
      const plan = yield* QueryPlan.plan(query, m.registry)
      return scan(m, plan, yield* Clock.currentTimeMillis)
    }),
  )

const page: Step<"page"> = (m, query, pageOptions) =>
  Effect.gen(function* () {
    const plan = yield* QueryPlan.plan(query, m.registry)
    const now = yield* Clock.currentTimeMillis
    return yield* QueryPlan.page(
      plan,
      pageOptions,
      QueryPlan.collectStream((after) => QueryPlan.strictlyAfter(after)(scan(m, plan, now))),
      QueryPlan.isComplete(plan.from, m.retentionDays, now),
    )
  })

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

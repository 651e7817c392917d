/**
 * The memory layer of the DocumentCache port (exported by `DocumentCache.ts`):
 * the same behaviour as the DynamoDB backend, which one contract suite checks.
 * Each document item is a {@link Write.Slot}: its committed entry and its intent.
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

/** Builds the memory cache. */
export const make = (options: Options = {}): Effect.Effect<Service, never, DocumentKinds> =>
  Effect.gen(function* () {
    const registry = yield* DocumentKinds
    const retentionDays = options.retentionDays ?? 365
    const dryRun = options.dryRun === true
    const statusShards = Math.max(1, Math.floor(options.statusShards ?? Table.statusShards))
    const items = new Map<string, Item>()
    const pk = (kind: string, id: string) => Table.documentPk(kind, id)
    const slot = (kind: string, id: string): Write.Slot => {
      const item = items.get(pk(kind, id))
      return { committed: Option.fromNullable(item?.committed), intent: Option.fromNullable(item?.intent) }
    }
    const stored = (kind: string, id: string) => slot(kind, id).committed
    const storedEntry = (kind: string, id: string) => Option.map(stored(kind, id), (s) => s.entry)
    const set = (kind: string, id: string, item: Item) =>
      item.committed === undefined && item.intent === undefined
        ? items.delete(pk(kind, id))
        : items.set(pk(kind, id), item)
    const setCommitted = (kind: string, id: string, committed: Write.Stored | undefined) =>
      set(kind, id, { committed, intent: items.get(pk(kind, id))?.intent })
    const mutate = (f: () => void) => Effect.sync(() => (dryRun ? undefined : f()))
    const log = <A, E>(
      operation: string,
      key: string,
      self: Effect.Effect<A, E>,
      describe?: (a: A) => OperationLog.Fields,
    ) =>
      OperationLog.logged<A>(
        operation,
        { backend: "memory", key, ...(dryRun ? { dryRun } : {}) },
        describe === undefined ? { level: "debug" } : { level: "debug", describe },
      )(self)

    const get: Service["get"] = (kind, id, getOptions) =>
      log(
        "cache.get",
        Write.keyOf(kind, id),
        Effect.map(Clock.currentTimeMillis, (now) =>
          Option.filter(
            storedEntry(kind, id),
            (entry) => getOptions?.includeExpired === true || !CacheEntry.isExpired(entry.expiresAt, now),
          ),
        ),
        (entry) => ({ outcome: Option.isSome(entry) ? entry.value._tag : "Absent" }),
      )

    const cachedEntry = (document: Document.AnyDocument, provenance: CacheEntry.Provenance & { s3Key: string }) => {
      const summary = registry.summarize(document)
      const entry: CacheEntry.CachedDocument = {
        _tag: "Cached",
        summary,
        document,
        s3Key: provenance.s3Key,
        expiresAt: CacheEntry.expiresAt(summary.time, retentionDays),
        ...(provenance.etag !== undefined ? { etag: provenance.etag } : {}),
        ...(provenance.sequencer !== undefined ? { sequencer: normalizeSequencer(provenance.sequencer) } : {}),
      }
      return { entry, contentHash: Write.contentHash(document) }
    }

    const put: Service["put"] = (document, putOptions) => {
      const key = Write.keyOf(document.kind, document.id)
      return log(
        "cache.put",
        key,
        Effect.gen(function* () {
          if (registry.get(document.kind) === undefined) {
            return yield* new CacheError({ reason: "Invalid", operation: "put", key, cause: "unregistered kind" })
          }
          const hash = Write.contentHash(document)
          const current = slot(document.kind, document.id)
          const decision = Write.decidePut(document, hash, putOptions, current.committed)
          if (decision._tag === "Fail") return yield* decision.error
          if (decision._tag === "Unchanged") return { _tag: "Unchanged", current: decision.current } as PutOutcome
          const held = Write.checkNoIntent(key, "put", current.intent)
          if (held !== undefined) return yield* held
          const next = cachedEntry(document, putOptions)
          yield* mutate(() => setCommitted(document.kind, document.id, next))
          return { _tag: "Written", previous: Option.map(current.committed, (p) => p.entry) } as PutOutcome
        }),
        (outcome) => ({ outcome: outcome._tag }),
      )
    }

    const remove = (
      operation: string,
      kind: string,
      id: string,
      condition: Condition | undefined,
      replacement: (now: number) => Write.Stored | undefined,
    ): Effect.Effect<DeleteOutcome, ConditionFailedError> =>
      log(
        `cache.${operation}`,
        Write.keyOf(kind, id),
        Effect.gen(function* () {
          const current = slot(kind, id)
          const previous = Option.map(current.committed, (s) => s.entry)
          const failed =
            Write.checkCondition(Write.keyOf(kind, id), operation, previous, condition) ??
            Write.checkNoIntent(Write.keyOf(kind, id), operation, current.intent)
          if (failed !== undefined) return yield* failed
          const now = yield* Clock.currentTimeMillis
          const next = replacement(now)
          yield* mutate(() => setCommitted(kind, id, next))
          return Option.match(previous, {
            onNone: (): DeleteOutcome => ({ _tag: "Absent" }),
            onSome: (entry): DeleteOutcome => ({ _tag: "Deleted", previous: entry }),
          })
        }),
        (outcome) => ({ outcome: outcome._tag }),
      )

    const restore: Service["restore"] = (kind, id, previous, condition) =>
      log(
        "cache.restore",
        Write.keyOf(kind, id),
        Effect.gen(function* () {
          const current = slot(kind, id)
          const failed =
            Write.checkCondition(
              Write.keyOf(kind, id),
              "restore",
              Option.map(current.committed, (s) => s.entry),
              condition,
            ) ?? Write.checkNoIntent(Write.keyOf(kind, id), "restore", current.intent)
          if (failed !== undefined) return yield* failed
          yield* mutate(() =>
            setCommitted(
              kind,
              id,
              Option.match(previous, {
                onNone: () => undefined,
                onSome: (entry) => ({
                  entry,
                  contentHash:
                    entry._tag === "Cached" && entry.document !== undefined
                      ? Write.contentHash(entry.document)
                      : undefined,
                }),
              }),
            ),
          )
        }),
      )

    const tombstoneOf = (
      kind: string,
      id: string,
      expiresAt: number,
      provenance: CacheEntry.Provenance,
    ): Write.Stored => ({
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

    const inspect: Service["inspect"] = (kind, id) =>
      log(
        "cache.inspect",
        Write.keyOf(kind, id),
        Effect.sync(() => {
          const current = slot(kind, id)
          return { entry: Option.map(current.committed, (s) => s.entry), intent: current.intent }
        }),
      )

    const intend: Service["intend"] = (request) =>
      log(
        "cache.intend",
        Write.keyOf(request.kind, request.id),
        Effect.gen(function* () {
          const key = Write.keyOf(request.kind, request.id)
          if (request.change._tag === "Put" && registry.get(request.change.document.kind) === undefined) {
            return yield* new CacheError({ reason: "Invalid", operation: "intend", key, cause: "unregistered kind" })
          }
          const current = slot(request.kind, request.id)
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
              yield* mutate(() =>
                set(request.kind, request.id, {
                  committed: Option.getOrUndefined(current.committed),
                  intent: Write.intentOf(request),
                }),
              )
              return { _tag: "Recorded", previous } as IntentOutcome
          }
        }),
        (outcome) => ({ outcome: outcome._tag }),
      )

    const commit: Service["commit"] = (request) =>
      log(
        "cache.commit",
        Write.keyOf(request.kind, request.id),
        Effect.gen(function* () {
          const decision = Write.decideCommit(request, slot(request.kind, request.id))
          if (decision._tag === "Fail") return yield* decision.error
          if (decision._tag === "Already") return { _tag: "AlreadyCommitted" } as CommitOutcome
          const change = request.change
          const now = yield* Clock.currentTimeMillis
          const committed =
            change._tag === "Put"
              ? cachedEntry(change.document, { s3Key: change.s3Key, etag: change.etag })
              : tombstoneOf(
                  request.kind,
                  request.id,
                  Math.floor(now / 1000) + Math.max(1, Math.round(change.ttlSeconds)),
                  change.etag !== undefined ? { etag: change.etag } : {},
                )
          yield* mutate(() => set(request.kind, request.id, { committed, intent: undefined }))
          return { _tag: "Committed" } as CommitOutcome
        }),
        (outcome) => ({ outcome: outcome._tag }),
      )

    const clearIntent: Service["clearIntent"] = (kind, id, writer) =>
      log(
        "cache.clearIntent",
        Write.keyOf(kind, id),
        mutate(() => {
          const item = items.get(pk(kind, id))
          if (item?.intent?.writer === writer) set(kind, id, { committed: item.committed, intent: undefined })
        }),
      )

    const intents: Service["intents"] = ({ expiredBefore }) =>
      Stream.suspend(() =>
        Stream.fromIterable(
          [...items.entries()]
            .flatMap(([key, item]): Array<PendingIntent> => {
              if (item.intent === undefined || item.intent.leaseExpiresAt >= expiredBefore) return []
              const parsed = Table.parseDocumentPk(key)
              return parsed === undefined ? [] : [{ ...parsed, intent: item.intent }]
            })
            .sort((a, b) => a.intent.leaseExpiresAt - b.intent.leaseExpiresAt),
        ),
      )

    const matching = (plan: QueryPlan.Plan, now: number): Array<Document.Summary> =>
      [...items.values()].flatMap(({ committed }) =>
        committed !== undefined &&
        committed.entry._tag === "Cached" &&
        !CacheEntry.isExpired(committed.entry.expiresAt, now) &&
        QueryPlan.matches(plan, committed.entry.summary)
          ? [committed.entry.summary]
          : [],
      )

    // A status query reads its partitions the way DynamoDB does: one sorted stream per kind and
    // shard, merged in order (the same merge as the DynamoDB backend).
    const scan = (plan: QueryPlan.Plan, now: number): Stream.Stream<Document.Summary> =>
      Stream.suspend(() => {
        const found = matching(plan, now)
        if (plan.target._tag !== "Status") return Stream.fromIterable(found.sort(QueryPlan.compare))
        const status = plan.target.status
        const partitions = new Map(
          plan.kinds.flatMap((kind) =>
            Table.statusPartitions(kind, status, statusShards).map((key) => [key, [] as Array<Document.Summary>]),
          ),
        )
        for (const s of found) partitions.get(Table.statusPkOf(s.kind, s.status, s.id, statusShards))?.push(s)
        return mergeSorted(
          [...partitions.values()].map((part) => Stream.fromIterable(part.sort(QueryPlan.compare))),
          QueryPlan.compare,
        )
      })

    return Write.validated({
      get,
      fingerprints: (refs) =>
        Effect.sync(() =>
          [...new Map(refs.map((ref) => [pk(ref.kind, ref.id), ref])).values()].flatMap((ref) =>
            Option.toArray(Option.map(storedEntry(ref.kind, ref.id), Bulk.fingerprintOf)),
          ),
        ),
      scan: (scanOptions) =>
        Stream.suspend(() => {
          const segments = Bulk.segmentCount(scanOptions)
          const entries = [...items.entries()].flatMap(([key, item]) =>
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
        }),
      put,
      delete: (kind, id, deleteOptions) => remove("delete", kind, id, deleteOptions?.condition, () => undefined),
      tombstone: (kind, id, tombstoneOptions) =>
        remove("tombstone", kind, id, tombstoneOptions.condition, (now) =>
          tombstoneOf(
            kind,
            id,
            Math.floor(now / 1000) + Math.max(1, Math.round(tombstoneOptions.ttlSeconds)),
            tombstoneOptions,
          ),
        ),
      restore,
      inspect,
      intend,
      commit,
      clearIntent,
      intents,
      query: (query) =>
        Stream.unwrap(
          Effect.gen(function* () {
            const plan = yield* QueryPlan.plan(query, registry)
            return scan(plan, yield* Clock.currentTimeMillis)
          }),
        ),
      page: (query, pageOptions) =>
        Effect.gen(function* () {
          const plan = yield* QueryPlan.plan(query, registry)
          const now = yield* Clock.currentTimeMillis
          return yield* QueryPlan.page(
            plan,
            pageOptions,
            QueryPlan.collectStream((after) => QueryPlan.strictlyAfter(after)(scan(plan, now))),
            QueryPlan.isComplete(plan.from, retentionDays, now),
          )
        }),
    })
  })

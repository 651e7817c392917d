/**
 * The DynamoDB backend of the {@link DocumentCache} port (DESIGN section 4).
 *
 * Writes: every write of a document is a compare-and-set on its document item.
 * Each document item carries a random revision `rev`; a write reads the item
 * (consistently), applies the version rule or the caller's condition in code,
 * and commits all of the document's items in one TransactWriteItems whose first
 * action is guarded by `rev = :seen` (or `attribute_not_exists(pk)`). If anyone
 * changed the document in between, the guard fails, DynamoDB returns the item it
 * holds now (`ReturnValuesOnConditionCheckFailure: ALL_OLD`) and the write is
 * decided again on that state. So the version rule and the conditions
 * (`VersionIs`, `Absent`, `SequencerBefore`) hold exactly as if checked in the
 * `ConditionExpression`, and the `previous` a put returns is exactly what it
 * replaced (what a rollback must restore). A create (a version-1 put, or one
 * under the `Absent` condition, such as a refill) skips the read: it assumes no
 * item, which its `attribute_not_exists` guard checks, and is decided on the
 * returned item when one exists (one round trip instead of two).
 *
 * Past one transaction (100 actions: the document item plus 99 customer puts or
 * deletes) a write is a chain of transactions. The first puts the document item
 * marked `pending` with a new `rev`; each next one moves `rev` on (guarded by the
 * previous `rev`) with the next 99 customer actions; the last clears `pending`.
 * A concurrent writer's guard therefore fails until the chain is over, and a
 * writer that finds `pending` set (an interrupted chain) discovers the customer
 * items by querying the partition instead of trusting the item's list, so no
 * customer item is ever orphaned.
 *
 * Every call goes through the {@link RateLimit} service and the retry policy
 * (throttling, 5xx and network errors; never condition failures or validation),
 * asks for consumed capacity and is logged once per operation.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import {
  type AttributeValue,
  type ConsumedCapacity,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "../CacheEntry.js"
import * as CacheMetrics from "../CacheMetrics.js"
import { DocketConfig } from "../DocketConfig.js"
import type * as DocketError from "../DocketError.js"
import type * as Document from "../Document.js"
import {
  CacheError,
  type Condition,
  type ConditionFailedError,
  type DeleteOutcome,
  DocumentCache,
  type PutOutcome,
  type Service,
} from "../DocumentCache.js"
import { DocumentKinds } from "../DocumentKind.js"
import * as Items from "../Items.js"
import { mergeSorted } from "../internal/merge.js"
import * as QueryPlan from "../internal/query.js"
import * as Write from "../internal/write.js"
import * as OperationLog from "../OperationLog.js"
import { RateLimit } from "../RateLimit.js"
import * as Retry from "../Retry.js"
import { normalizeSequencer } from "../Sequencer.js"
import * as Bulk from "./DynamoDB/Bulk.js"

/** Options of the DynamoDB backend. */
export interface Options {
  readonly table: string
  /** `DOCKET_TTL_DAYS`: retention window in days. */
  readonly retentionDays: number
  /** `DOCKET_DRY_RUN`: mutations log what they would do and change nothing. */
  readonly dryRun?: boolean
  /** Retry policy of every call (default {@link Retry.defaultPolicy}). */
  readonly retry?: Retry.Policy
  /** Time buckets a time-range query reads ahead in parallel (default 4). */
  readonly bucketConcurrency?: number
}

/** Transaction limit of DynamoDB: 100 actions, one of them the document item. */
const customerActionsPerTransaction = 99

type Stats = { attempts: number; requests: number; consumedCapacity: number }

const S = (s: string): AttributeValue => ({ S: s })

const capacityOf = (consumed: ConsumedCapacity | ReadonlyArray<ConsumedCapacity> | undefined): number =>
  consumed === undefined
    ? 0
    : Array.isArray(consumed)
      ? consumed.reduce((n: number, c: ConsumedCapacity) => n + (c.CapacityUnits ?? 0), 0)
      : ((consumed as ConsumedCapacity).CapacityUnits ?? 0)

/** A failed SDK call, classified for retrying. */
class AwsFailure {
  readonly _tag = "AwsFailure"
  constructor(
    readonly error: unknown,
    readonly reason: DocketError.Reason,
    readonly retryable: boolean,
  ) {}
}

const throttledCancellations = new Set(["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"])

const classifyFailure = (error: unknown): AwsFailure => {
  const e = error as { name?: string; CancellationReasons?: ReadonlyArray<{ Code?: string }> }
  if (e?.name === "TransactionCanceledException") {
    const codes = (e.CancellationReasons ?? []).map((r) => r.Code ?? "None")
    if (codes.includes("ConditionalCheckFailed")) return new AwsFailure(error, "Invalid", false)
    if (codes.includes("TransactionConflict")) return new AwsFailure(error, "Contention", true)
    if (codes.some((c) => throttledCancellations.has(c))) return new AwsFailure(error, "Throttled", true)
  }
  if (e?.name === "TransactionConflictException") return new AwsFailure(error, "Contention", true)
  const { reason, retryable } = Retry.classify(error)
  return new AwsFailure(error, reason, retryable)
}

/** The condition of the transaction's first action did not hold: the document changed under us. */
class Conflict {
  readonly _tag = "Conflict"
  constructor(readonly item: Option.Option<Items.Item>) {}
}

/**
 * Builds the backend on `client` (which it does not own: see {@link layer}).
 * Needs the registered kinds and the process's {@link RateLimit}.
 */
export const make = (
  client: DynamoDBClient,
  options: Options,
): Effect.Effect<Service, never, DocumentKinds | RateLimit> =>
  Effect.gen(function* () {
    const registry = yield* DocumentKinds
    const rateLimit = yield* RateLimit
    const table = options.table
    const retrying = Retry.retrying(options.retry ?? Retry.defaultPolicy)
    const dryRun = options.dryRun === true
    const bucketConcurrency = Math.max(1, options.bucketConcurrency ?? 4)

    /** One SDK call: rate limited, retried under the policy, counted in `stats`. */
    const call = <O extends { ConsumedCapacity?: unknown }>(
      stats: Stats,
      send: (signal: AbortSignal) => Promise<O>,
    ): Effect.Effect<O, AwsFailure> =>
      rateLimit
        .limit(
          Effect.suspend(() => {
            stats.attempts++
            return Effect.tryPromise({ try: send, catch: classifyFailure })
          }),
        )
        .pipe(
          Effect.tapError((failure) =>
            failure.reason === "Throttled" ? Metric.increment(CacheMetrics.throttles) : Effect.void,
          ),
          retrying,
          Effect.tap((out) =>
            Effect.sync(() => {
              stats.requests++
              stats.consumedCapacity += capacityOf(out.ConsumedCapacity as ConsumedCapacity | undefined)
            }),
          ),
        )

    const cacheError = (operation: string, key: string) => (failure: AwsFailure) =>
      new CacheError({ reason: failure.reason, operation, key, cause: failure.error })

    const newStats = (): Stats => ({ attempts: 0, requests: 0, consumedCapacity: 0 })

    /** Logs one line per operation; `fields` is read when the line is written (after the attempts). */
    const log = <A, E, R>(
      operation: string,
      fields: Record<string, unknown> & { stats: Stats },
      self: Effect.Effect<A, E, R>,
      describe?: (a: A) => OperationLog.Fields,
      level: "info" | "debug" = "info",
    ): Effect.Effect<A, E, R> => {
      const { stats, ...rest } = fields
      const line = () => ({ ...rest, ...stats })
      return OperationLog.logged<A>(operation, line, describe === undefined ? { level } : { describe, level })(self)
    }

    const docKey = (kind: string, id: string) => ({ pk: S(Items.documentPk(kind, id)), sk: S(Items.documentSk) })

    const getItem = (stats: Stats, operation: string, kind: string, id: string) =>
      call(stats, (abortSignal) =>
        client.send(
          new GetItemCommand({
            TableName: table,
            Key: docKey(kind, id),
            ConsistentRead: true,
            ReturnConsumedCapacity: "TOTAL",
          }),
          { abortSignal },
        ),
      ).pipe(
        Effect.map((out) => Option.fromNullable(out.Item)),
        Effect.mapError(cacheError(operation, Write.keyOf(kind, id))),
      )

    /** Every item of a document's partition (document item and customer items). */
    const partition = (stats: Stats, operation: string, kind: string, id: string) =>
      Stream.paginateChunkEffect(undefined as Items.Item | undefined, (start) =>
        call(stats, (abortSignal) =>
          client.send(
            new QueryCommand({
              TableName: table,
              KeyConditionExpression: "pk = :pk",
              ExpressionAttributeValues: { ":pk": S(Items.documentPk(kind, id)) },
              ConsistentRead: true,
              ReturnConsumedCapacity: "TOTAL",
              ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
            }),
            { abortSignal },
          ),
        ).pipe(
          Effect.map(
            (out) => [Chunk.unsafeFromArray(out.Items ?? []), Option.fromNullable(out.LastEvaluatedKey)] as const,
          ),
        ),
      ).pipe(
        Stream.runCollect,
        Effect.map((chunk) => {
          const items = Chunk.toArray(chunk)
          return {
            document: Option.fromNullable(items.find((item) => item.sk?.S === Items.documentSk)),
            customerSks: items.flatMap((item) => (item.sk?.S?.startsWith("CUST#") ? [item.sk.S] : [])),
          }
        }),
        Effect.mapError(cacheError(operation, Write.keyOf(kind, id))),
      )

    const decodeStored = (operation: string, key: string, item: Items.Item) =>
      Either.match(Items.fromDocumentItem(item, registry), {
        onLeft: (error) => Effect.fail(new CacheError({ reason: "Corrupt", operation, key, cause: error })),
        onRight: (entry) => Effect.succeed<Write.Stored>({ entry, contentHash: item.contentHash?.S }),
      })

    const decodeOption = (operation: string, key: string, item: Option.Option<Items.Item>) =>
      Option.match(item, {
        onNone: () => Effect.succeed(Option.none<Write.Stored>()),
        onSome: (i) => Effect.map(decodeStored(operation, key, i), Option.some),
      })

    /** The guard of the first action: the document item is still exactly what we read. */
    const guard = (current: Option.Option<Items.Item>) =>
      Option.match(current, {
        onNone: () => ({ ConditionExpression: "attribute_not_exists(pk)" }),
        onSome: (item) =>
          item.rev?.S !== undefined
            ? {
                ConditionExpression: "#rev = :seen",
                ExpressionAttributeNames: { "#rev": "rev" },
                ExpressionAttributeValues: { ":seen": S(item.rev.S) },
              }
            : {
                ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(#rev)",
                ExpressionAttributeNames: { "#rev": "rev" },
              },
      })

    /**
     * Replaces the items of a document: `current` is what we read (document item
     * and customer sort keys), `next` what must be there afterwards. Fails with
     * {@link Conflict} when the document item changed since it was read.
     */
    const replace = (
      stats: Stats,
      kind: string,
      id: string,
      current: { readonly document: Option.Option<Items.Item>; readonly customerSks: ReadonlyArray<string> },
      next: { readonly document: Items.Item | undefined; readonly customers: ReadonlyArray<Items.Item> },
    ): Effect.Effect<void, AwsFailure | Conflict> => {
      const pk = S(Items.documentPk(kind, id))
      const keep = new Set(next.customers.map((item) => item.sk?.S))
      const customerActions: Array<TransactWriteItem> = [
        ...next.customers.map((Item): TransactWriteItem => ({ Put: { TableName: table, Item } })),
        ...current.customerSks
          .filter((sk) => !keep.has(sk))
          .map((sk): TransactWriteItem => ({ Delete: { TableName: table, Key: { pk, sk: S(sk) } } })),
      ]
      const revs = Array.from(
        { length: Math.max(1, Math.ceil(customerActions.length / customerActionsPerTransaction)) },
        () => randomUUID(),
      )
      const finalAction = (conditions: ReturnType<typeof guard>, rev: string): TransactWriteItem =>
        next.document === undefined
          ? {
              Delete: {
                TableName: table,
                Key: { pk, sk: S(Items.documentSk) },
                ...conditions,
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            }
          : {
              Put: {
                TableName: table,
                Item: { ...next.document, rev: S(rev) },
                ...conditions,
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            }
      const byRev = (rev: string) => ({
        ConditionExpression: "#rev = :seen",
        ExpressionAttributeNames: { "#rev": "rev" },
        ExpressionAttributeValues: { ":seen": S(rev) },
      })
      const transactions: Array<Array<TransactWriteItem>> = []
      if (revs.length === 1) {
        transactions.push([finalAction(guard(current.document), revs[0] as string), ...customerActions])
      } else {
        for (let i = 0; i < revs.length; i++) {
          const rev = revs[i] as string
          const chunk = customerActions.slice(
            i * customerActionsPerTransaction,
            (i + 1) * customerActionsPerTransaction,
          )
          const last = i === revs.length - 1
          let head: TransactWriteItem
          if (i === 0) {
            const base = next.document ?? Option.getOrUndefined(current.document) ?? Items.tombstoneItem(kind, id, 0)
            head = {
              Put: {
                TableName: table,
                Item: { ...base, pending: { BOOL: true }, rev: S(rev) },
                ...guard(current.document),
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            }
          } else if (last) {
            head = finalAction(byRev(revs[i - 1] as string), rev)
          } else {
            head = {
              Update: {
                TableName: table,
                Key: { pk, sk: S(Items.documentSk) },
                UpdateExpression: "SET #rev = :rev",
                ...byRev(revs[i - 1] as string),
                ExpressionAttributeValues: { ":seen": S(revs[i - 1] as string), ":rev": S(rev) },
              },
            }
          }
          transactions.push([head, ...chunk])
        }
      }
      return Effect.forEach(
        transactions,
        (TransactItems, index) =>
          call(stats, (abortSignal) =>
            client.send(new TransactWriteItemsCommand({ TransactItems, ReturnConsumedCapacity: "TOTAL" }), {
              abortSignal,
            }),
          ).pipe(
            Effect.catchIf(
              (failure) => !failure.retryable && failure.reason === "Invalid" && isConditionCancel(failure.error),
              (failure) =>
                // Later transactions of a chain fail only when a newer writer took over: that writer owns the items now.
                index === 0
                  ? Effect.fail(new Conflict(Option.fromNullable(cancellationItem(failure.error))))
                  : Effect.void,
            ),
          ),
        { discard: true },
      )
    }

    /**
     * Re-decides a write on conflict, a bounded number of times. `initial`: the
     * state the first attempt assumes without reading (a guess its guard checks);
     * after a conflict the item DynamoDB returned is trusted once, then re-read.
     */
    const optimistic = <A, E>(
      operation: string,
      key: string,
      attempt: (seen: Option.Option<Option.Option<Items.Item>>) => Effect.Effect<A, E | Conflict>,
      initial: Option.Option<Option.Option<Items.Item>> = Option.none(),
    ): Effect.Effect<A, E | CacheError> => {
      const trustedRounds = Option.isSome(initial) ? 1 : 0
      const loop = (seen: Option.Option<Option.Option<Items.Item>>, round: number): Effect.Effect<A, E | CacheError> =>
        Effect.catchIf(
          attempt(seen),
          (e): e is Conflict => e instanceof Conflict,
          (conflict) =>
            round >= 10
              ? Effect.fail(
                  new CacheError({
                    reason: "Contention",
                    operation,
                    key,
                    cause: "the document kept changing (10 rounds)",
                  }),
                )
              : loop(round <= trustedRounds ? Option.some(conflict.item) : Option.none(), round + 1),
        ) as Effect.Effect<A, E | CacheError>
      return loop(initial, 0)
    }

    const documentItems = (
      document: Document.AnyDocument,
      provenance: CacheEntry.Provenance & { s3Key: string },
      expires?: number,
    ) => {
      const items = Items.toItems(document, registry, { ...provenance, retentionDays: options.retentionDays })
      const hash = Write.contentHash(document)
      const withExpiry = (item: Items.Item): Items.Item =>
        expires === undefined ? item : { ...item, expiresAt: { N: String(expires) } }
      return {
        document: withExpiry({ ...items.document, contentHash: S(hash) }),
        customers: items.customers.map(withExpiry),
      }
    }

    /** The items of an entry (to restore it): from its body, or from its summary when it holds a pointer. */
    const entryItems = (entry: CacheEntry.Entry): { document: Items.Item; customers: ReadonlyArray<Items.Item> } => {
      const provenance = {
        ...(entry.etag !== undefined ? { etag: entry.etag } : {}),
        ...(entry.sequencer !== undefined ? { sequencer: entry.sequencer } : {}),
      }
      if (entry._tag === "Tombstone") {
        return { document: Items.tombstoneItem(entry.kind, entry.id, entry.expiresAt, provenance), customers: [] }
      }
      if (entry.document !== undefined) {
        return documentItems(entry.document, { s3Key: entry.s3Key, ...provenance }, entry.expiresAt)
      }
      const s = entry.summary
      const summary: Items.Item = {
        kind: S(s.kind),
        id: S(s.id),
        version: { N: String(s.version) },
        title: S(s.title),
        status: S(s.status),
        customers: { L: s.customers.map(S) },
        time: S(s.time),
        expiresAt: { N: String(entry.expiresAt) },
      }
      const pk = S(Items.documentPk(s.kind, s.id))
      const sortKey = S(Items.timeSortKey(s.time, s.kind, s.id))
      return {
        document: {
          pk,
          sk: S(Items.documentSk),
          ...summary,
          s3Key: S(entry.s3Key),
          pointer: { BOOL: true },
          timePk: S(Items.timeBucket(s.time)),
          timeSk: sortKey,
          statusPk: S(Items.statusPk(s.kind, s.status)),
          statusSk: S(Items.statusSortKey(s.time, s.id)),
          ...(entry.etag !== undefined ? { etag: S(entry.etag) } : {}),
          ...(entry.sequencer !== undefined ? { sequencer: S(entry.sequencer) } : {}),
        },
        customers: s.customers.map((code) => ({
          pk,
          sk: S(Items.customerSk(code)),
          ...summary,
          custPk: S(Items.customerPk(code)),
          custSk: sortKey,
        })),
      }
    }

    const customerSksOf = (
      stats: Stats,
      operation: string,
      kind: string,
      id: string,
      item: Option.Option<Items.Item>,
    ) =>
      Option.isSome(item) && item.value.pending?.BOOL === true
        ? Effect.map(partition(stats, operation, kind, id), (p) => p.customerSks)
        : Effect.succeed(
            Option.match(item, {
              onNone: () => [] as Array<string>,
              onSome: (i) => (i.customers?.L ?? []).flatMap((c) => (c.S !== undefined ? [Items.customerSk(c.S)] : [])),
            }),
          )

    const put: Service["put"] = (document, putOptions) => {
      const key = Write.keyOf(document.kind, document.id)
      const stats = newStats()
      return log(
        "cache.put",
        { table, key, version: document.version, ...(dryRun ? { dryRun } : {}), stats },
        Effect.gen(function* () {
          if (registry.get(document.kind) === undefined) {
            return yield* new CacheError({ reason: "Invalid", operation: "put", key, cause: "unregistered kind" })
          }
          const sequencer = putOptions.sequencer !== undefined ? normalizeSequencer(putOptions.sequencer) : undefined
          const next = documentItems(document, {
            s3Key: putOptions.s3Key,
            ...(putOptions.etag !== undefined ? { etag: putOptions.etag } : {}),
            ...(sequencer !== undefined ? { sequencer } : {}),
          })
          const hash = Write.contentHash(document)
          // A create (version 1, or an `Absent` condition such as a refill) skips the read: the first
          // attempt assumes no item, which its `attribute_not_exists` guard checks atomically. When an
          // item exists the transaction is cancelled (nothing written) and DynamoDB returns the item
          // (ALL_OLD), so the write is decided on it exactly as after a read: same round trips as before
          // for that case, one fewer for a real create. Updates keep the read (a cancelled transaction
          // costs more than a GetItem).
          const create =
            !dryRun &&
            (putOptions.condition?._tag === "Absent" ||
              (putOptions.condition === undefined && document.version === 1)) &&
            Write.decidePut(document, hash, putOptions, Option.none())._tag === "Write"
          return yield* optimistic(
            "put",
            key,
            (seen) =>
              Effect.gen(function* () {
                const item = Option.isSome(seen) ? seen.value : yield* getItem(stats, "put", document.kind, document.id)
                const stored = yield* decodeOption("put", key, item)
                const decision = Write.decidePut(document, hash, putOptions, stored)
                if (decision._tag === "Fail") return yield* decision.error
                if (decision._tag === "Unchanged") return { _tag: "Unchanged", current: decision.current } as PutOutcome
                const written: PutOutcome = { _tag: "Written", previous: Option.map(stored, (s) => s.entry) }
                if (dryRun) return written
                const customerSks = yield* customerSksOf(stats, "put", document.kind, document.id, item)
                yield* replace(stats, document.kind, document.id, { document: item, customerSks }, next).pipe(
                  Effect.mapError((e) => (e instanceof Conflict ? e : cacheError("put", key)(e))),
                )
                return written
              }),
            create ? Option.some(Option.none()) : Option.none(),
          )
        }),
        (outcome) => ({ outcome: outcome._tag }),
      )
    }

    /** Delete, tombstone and restore: read the whole partition, check the condition, replace. */
    const replaceAll = (
      operation: string,
      kind: string,
      id: string,
      condition: Condition | undefined,
      next: (now: number) => { document: Items.Item | undefined; customers: ReadonlyArray<Items.Item> },
    ): Effect.Effect<DeleteOutcome, CacheError | ConditionFailedError> => {
      const key = Write.keyOf(kind, id)
      const stats = newStats()
      return log(
        `cache.${operation}`,
        {
          table,
          key,
          ...(condition !== undefined ? { condition: Write.describe(condition) } : {}),
          ...(dryRun ? { dryRun } : {}),
          stats,
        },
        optimistic(operation, key, () =>
          Effect.gen(function* () {
            const current = yield* partition(stats, operation, kind, id)
            const stored = yield* decodeOption(operation, key, current.document)
            const previous = Option.map(stored, (s) => s.entry)
            const failed = Write.checkCondition(key, operation, previous, condition)
            if (failed !== undefined) return yield* failed
            const outcome: DeleteOutcome = Option.match(previous, {
              onNone: () => ({ _tag: "Absent" }),
              onSome: (entry) => ({ _tag: "Deleted", previous: entry }),
            })
            const target = next(yield* Clock.currentTimeMillis)
            if (
              dryRun ||
              (Option.isNone(current.document) && current.customerSks.length === 0 && target.document === undefined)
            ) {
              return outcome
            }
            yield* replace(stats, kind, id, current, target).pipe(
              Effect.mapError((e) => (e instanceof Conflict ? e : cacheError(operation, key)(e))),
            )
            return outcome
          }),
        ),
        (outcome) => ({ outcome: outcome._tag }),
      )
    }

    const get: Service["get"] = (kind, id, getOptions) => {
      const key = Write.keyOf(kind, id)
      const stats = newStats()
      return log(
        "cache.get",
        { table, key, stats },
        Effect.gen(function* () {
          const item = yield* getItem(stats, "get", kind, id)
          const stored = yield* decodeOption("get", key, item)
          const now = yield* Clock.currentTimeMillis
          return Option.filter(
            Option.map(stored, (s) => s.entry),
            (entry) => getOptions?.includeExpired === true || !CacheEntry.isExpired(entry.expiresAt, now),
          )
        }),
        (entry) => ({ outcome: Option.isSome(entry) ? entry.value._tag : "Absent" }),
        // Reads are the hot path: their success lines are debug (DOCKET_LOG_LEVEL=debug); failures always warn.
        "debug",
      )
    }

    // ---- queries -------------------------------------------------------------

    interface Partition {
      readonly index: "TimeRangeIndex" | "CustomerTimeIndex" | "StatusTimeIndex"
      readonly pkName: string
      readonly pkValue: string
      readonly skName: string
      /** Whether the kind must be filtered (partitions of several kinds). */
      readonly kindFilter: string | undefined
    }

    const indexOf = (plan: QueryPlan.Plan) =>
      plan.target._tag === "Time"
        ? "TimeRangeIndex"
        : plan.target._tag === "Customer"
          ? "CustomerTimeIndex"
          : "StatusTimeIndex"

    /** One DynamoDB page of a partition, decoded and filtered (expiry, kind, range) on our side too. */
    const queryPage = (
      stats: Stats,
      plan: QueryPlan.Plan,
      part: Partition,
      lower: string,
      now: number,
      limit: number | undefined,
      start: Items.Item | undefined,
    ): Effect.Effect<readonly [Chunk.Chunk<Document.Summary>, Option.Option<Items.Item>], CacheError> => {
      const input: QueryCommandInput = {
        TableName: table,
        IndexName: part.index,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :lo AND :hi",
        FilterExpression: part.kindFilter !== undefined ? "#exp > :now AND #kind = :kind" : "#exp > :now",
        ExpressionAttributeNames: {
          "#pk": part.pkName,
          "#sk": part.skName,
          "#exp": "expiresAt",
          ...(part.kindFilter !== undefined ? { "#kind": "kind" } : {}),
        },
        ExpressionAttributeValues: {
          ":pk": S(part.pkValue),
          // Sort keys start with the instant and then `#`: BETWEEN from AND to is exactly [from, to).
          ":lo": S(lower),
          ":hi": S(plan.to),
          ":now": { N: String(Math.floor(now / 1000)) },
          ...(part.kindFilter !== undefined ? { ":kind": S(part.kindFilter) } : {}),
        },
        ReturnConsumedCapacity: "TOTAL",
        ...(limit !== undefined ? { Limit: limit } : {}),
        ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
      }
      return call(stats, (abortSignal) => client.send(new QueryCommand(input), { abortSignal })).pipe(
        Effect.mapError(cacheError("query", plan.description)),
        Effect.flatMap((out) => {
          const summaries: Array<Document.Summary> = []
          for (const item of out.Items ?? []) {
            const decoded = Items.summaryFromItem(item)
            if (Either.isLeft(decoded)) {
              return Effect.fail(
                new CacheError({ reason: "Corrupt", operation: "query", key: plan.description, cause: decoded.left }),
              )
            }
            const s = decoded.right
            if (!CacheEntry.isExpired(s.expiresAt, now) && QueryPlan.matches(plan, s))
              summaries.push(QueryPlan.toSummary(s))
          }
          return Effect.succeed([Chunk.unsafeFromArray(summaries), Option.fromNullable(out.LastEvaluatedKey)] as const)
        }),
      )
    }

    const partitionStream = (
      stats: Stats,
      plan: QueryPlan.Plan,
      part: Partition,
      lower: string,
      now: number,
      limit: number | undefined,
      first?: readonly [Chunk.Chunk<Document.Summary>, Option.Option<Items.Item>],
    ): Stream.Stream<Document.Summary, CacheError> => {
      const rest = (start: Items.Item) =>
        Stream.paginateChunkEffect(start, (s) => queryPage(stats, plan, part, lower, now, limit, s))
      if (first === undefined) {
        return Stream.paginateChunkEffect(undefined as Items.Item | undefined, (s) =>
          queryPage(stats, plan, part, lower, now, limit, s),
        )
      }
      return Stream.concat(
        Stream.fromChunk(first[0]),
        Option.match(first[1], { onNone: () => Stream.empty, onSome: rest }),
      )
    }

    const lowerBound = (plan: QueryPlan.Plan, after: Option.Option<QueryPlan.Position>): string =>
      Option.match(after, {
        onNone: () => plan.from,
        onSome: (p) => (p.time.localeCompare(plan.from) > 0 ? p.time : plan.from),
      })

    /** The one partition a query reads, when it reads one (no fan-out, no merge). */
    const singlePartition = (plan: QueryPlan.Plan, lower: string): Partition | undefined => {
      switch (plan.target._tag) {
        case "Time": {
          const buckets = Items.timeBuckets(lower, plan.to)
          return buckets.length === 1
            ? {
                index: "TimeRangeIndex",
                pkName: "timePk",
                pkValue: buckets[0] as string,
                skName: "timeSk",
                kindFilter: plan.kind,
              }
            : undefined
        }
        case "Customer":
          return {
            index: "CustomerTimeIndex",
            pkName: "custPk",
            pkValue: Items.customerPk(plan.target.customer),
            skName: "custSk",
            kindFilter: plan.kind,
          }
        case "Status":
          return plan.kinds.length === 1
            ? {
                index: "StatusTimeIndex",
                pkName: "statusPk",
                pkValue: Items.statusPk(plan.kinds[0] as string, plan.target.status),
                skName: "statusSk",
                kindFilter: undefined,
              }
            : undefined
      }
    }

    /** Up to `want` matches of one partition strictly after `after`: DynamoDB pages read until filled. */
    const collectPartition = (
      stats: Stats,
      plan: QueryPlan.Plan,
      part: Partition,
      lower: string,
      now: number,
      want: number,
      after: Option.Option<QueryPlan.Position>,
    ): Effect.Effect<ReadonlyArray<Document.Summary>, CacheError> =>
      Effect.gen(function* () {
        const out: Array<Document.Summary> = []
        let start: Items.Item | undefined
        do {
          const [chunk, next] = yield* queryPage(stats, plan, part, lower, now, want, start)
          for (const summary of chunk) {
            if (Option.isSome(after) && QueryPlan.compare(summary, after.value) <= 0) continue
            out.push(summary)
            if (out.length >= want) return out
          }
          start = Option.getOrUndefined(next)
        } while (start !== undefined)
        return out
      })

    /** The ordered stream of matches strictly after `after`. */
    const scan = (
      stats: Stats,
      plan: QueryPlan.Plan,
      after: Option.Option<QueryPlan.Position>,
      now: number,
      limit: number | undefined,
    ): Stream.Stream<Document.Summary, CacheError> => {
      const lower = Option.match(after, {
        onNone: () => plan.from,
        onSome: (p) => (p.time.localeCompare(plan.from) > 0 ? p.time : plan.from),
      })
      let stream: Stream.Stream<Document.Summary, CacheError>
      switch (plan.target._tag) {
        case "Time": {
          const part = (bucket: string): Partition => ({
            index: "TimeRangeIndex",
            pkName: "timePk",
            pkValue: bucket,
            skName: "timeSk",
            kindFilter: plan.kind,
          })
          const buckets = Items.timeBuckets(lower, plan.to)
          // Buckets are disjoint months: read the first page of several in parallel, emit them in order.
          stream =
            buckets.length === 1
              ? partitionStream(stats, plan, part(buckets[0] as string), lower, now, limit)
              : Stream.fromIterable(buckets).pipe(
                  Stream.mapEffect(
                    (bucket) =>
                      Effect.map(queryPage(stats, plan, part(bucket), lower, now, limit, undefined), (first) => ({
                        bucket,
                        first,
                      })),
                    { concurrency: bucketConcurrency },
                  ),
                  Stream.flatMap(({ bucket, first }) =>
                    partitionStream(stats, plan, part(bucket), lower, now, limit, first),
                  ),
                )
          break
        }
        case "Customer":
          stream = partitionStream(
            stats,
            plan,
            {
              index: "CustomerTimeIndex",
              pkName: "custPk",
              pkValue: Items.customerPk(plan.target.customer),
              skName: "custSk",
              kindFilter: plan.kind,
            },
            lower,
            now,
            limit,
          )
          break
        case "Status": {
          const status = plan.target.status
          stream = mergeSorted(
            plan.kinds.map((kind) =>
              partitionStream(
                stats,
                plan,
                {
                  index: "StatusTimeIndex",
                  pkName: "statusPk",
                  pkValue: Items.statusPk(kind, status),
                  skName: "statusSk",
                  kindFilter: undefined,
                },
                lower,
                now,
                limit,
              ),
            ),
            QueryPlan.compare,
          )
          break
        }
      }
      return QueryPlan.strictlyAfter(after)(stream)
    }

    const timed = <A, E, R>(index: string, self: Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        const result = yield* self
        yield* Metric.update(
          Metric.tagged(CacheMetrics.queryLatency, "index", index),
          (yield* Clock.currentTimeMillis) - start,
        )
        return result
      })

    const bulk = Bulk.make({
      client,
      table,
      send: (operation, key, send) => {
        const stats = newStats()
        return log(
          `cache.${operation}`,
          { table, key, stats },
          call(stats, send).pipe(Effect.mapError(cacheError(operation, key))),
          undefined,
          "debug",
        )
      },
    })

    return Write.validated({
      ...bulk,
      get,
      put,
      delete: (kind, id, deleteOptions) =>
        replaceAll("delete", kind, id, deleteOptions?.condition, () => ({ document: undefined, customers: [] })),
      tombstone: (kind, id, tombstoneOptions) =>
        replaceAll("tombstone", kind, id, tombstoneOptions.condition, (now) => ({
          document: Items.tombstoneItem(
            kind,
            id,
            Math.floor(now / 1000) + Math.max(1, Math.round(tombstoneOptions.ttlSeconds)),
            {
              ...(tombstoneOptions.etag !== undefined ? { etag: tombstoneOptions.etag } : {}),
              ...(tombstoneOptions.sequencer !== undefined
                ? { sequencer: normalizeSequencer(tombstoneOptions.sequencer) }
                : {}),
            },
          ),
          customers: [],
        })),
      restore: (kind, id, previous, condition) =>
        Effect.asVoid(
          replaceAll("restore", kind, id, condition, () =>
            Option.match(previous, {
              onNone: () => ({ document: undefined, customers: [] }),
              onSome: entryItems,
            }),
          ),
        ),
      query: (query) =>
        Stream.unwrapScoped(
          Effect.gen(function* () {
            const plan = yield* QueryPlan.plan(query, registry)
            const stats = newStats()
            const start = yield* Clock.currentTimeMillis
            let count = 0
            const index = indexOf(plan)
            yield* Effect.addFinalizer((exit) =>
              Effect.gen(function* () {
                const durationMs = (yield* Clock.currentTimeMillis) - start
                yield* Metric.update(Metric.tagged(CacheMetrics.queryLatency, "index", index), durationMs)
                const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
                const outcome = Exit.isSuccess(exit)
                  ? "ok"
                  : Option.isSome(failure)
                    ? OperationLog.errorOutcome(failure.value)
                    : Cause.isInterruptedOnly(exit.cause)
                      ? "interrupted"
                      : "defect"
                yield* (
                  outcome === "ok" || outcome === "interrupted"
                    ? Effect.logDebug("cache.query")
                    : Effect.logWarning("cache.query")
                ).pipe(
                  Effect.annotateLogs({
                    operation: "cache.query",
                    outcome,
                    table,
                    index,
                    range: plan.description,
                    items: count,
                    ...stats,
                    durationMs,
                  }),
                )
              }),
            )
            return scan(stats, plan, Option.none(), start, undefined).pipe(
              Stream.mapChunks((chunk) => {
                count += chunk.length
                return chunk
              }),
            )
          }),
        ),
      page: (query, pageOptions) => {
        const stats = newStats()
        return Effect.flatMap(QueryPlan.plan(query, registry), (plan) =>
          log(
            "cache.page",
            { table, index: indexOf(plan), range: plan.description, limit: pageOptions.limit, stats },
            timed(
              indexOf(plan),
              Effect.gen(function* () {
                const now = yield* Clock.currentTimeMillis
                return yield* QueryPlan.page(
                  plan,
                  pageOptions,
                  (after, want) => {
                    const lower = lowerBound(plan, after)
                    const single = singlePartition(plan, lower)
                    return single === undefined
                      ? QueryPlan.collectStream((a, w) => scan(stats, plan, a, now, w))(after, want)
                      : collectPartition(stats, plan, single, lower, now, want, after)
                  },
                  QueryPlan.isComplete(plan.from, options.retentionDays, now),
                )
              }),
            ),
            (page) => ({ items: page.items.length, complete: page.complete, more: Option.isSome(page.cursor) }),
            "debug",
          ),
        )
      },
    })
  })

const isConditionCancel = (error: unknown): boolean => {
  const e = error as { name?: string; CancellationReasons?: ReadonlyArray<{ Code?: string }> }
  return e?.name === "TransactionCanceledException" && e.CancellationReasons?.[0]?.Code === "ConditionalCheckFailed"
}

const cancellationItem = (error: unknown): Items.Item | undefined =>
  (error as { CancellationReasons?: ReadonlyArray<{ Item?: Items.Item }> })?.CancellationReasons?.[0]?.Item

/** Options of {@link layer}: the backend's options and the SDK client's configuration. */
export interface LayerOptions extends Options {
  /** Region, endpoint, credentials...; `maxAttempts` is forced to 1 (our retry policy is the only one). */
  readonly client?: DynamoDBClientConfig
}

/** Provides the DynamoDB backend with its own SDK client, destroyed when the layer is released. */
export const layer = (options: LayerOptions): Layer.Layer<DocumentCache, never, DocumentKinds | RateLimit> =>
  Layer.scoped(
    DocumentCache,
    Effect.acquireRelease(
      Effect.sync(() => new DynamoDBClient({ ...options.client, maxAttempts: 1 })),
      (client) => Effect.sync(() => client.destroy()),
    ).pipe(Effect.flatMap((client) => make(client, options))),
  )

/**
 * Provides the DynamoDB backend from {@link DocketConfig}: `DOCKET_TABLE`,
 * `AWS_REGION`, `DOCKET_DYNAMODB_ENDPOINT`, `DOCKET_TTL_DAYS`, `DOCKET_DRY_RUN`,
 * `DOCKET_MAX_ATTEMPTS`. Credentials come the SDK's usual way.
 */
export const layerConfig: Layer.Layer<
  DocumentCache,
  ConfigError.ConfigError,
  DocumentKinds | RateLimit | DocketConfig
> = Layer.unwrapEffect(
  Effect.map(DocketConfig, (settings) =>
    layer({
      table: settings.table,
      retentionDays: settings.ttlDays,
      dryRun: settings.dryRun,
      retry: { ...Retry.defaultPolicy, maxAttempts: settings.maxAttempts },
      client: {
        region: settings.region,
        ...Option.match(settings.dynamodbEndpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
      },
    }),
  ),
)

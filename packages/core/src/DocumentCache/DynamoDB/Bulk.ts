/**
 * The bulk reads of the DynamoDB backend: `fingerprints` (BatchGetItem, 100
 * keys a request, unprocessed keys retried with backoff) and `scan` (a
 * parallel, segmented Scan of the document items). Both project only what a
 * comparison with an S3 listing needs, never the body.
 *
 * @since 0.2.0
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
  ScanCommand,
  type ScanCommandOutput,
} from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { CacheError, type DocumentRef, type Fingerprint, type Service } from "../../DocumentCache.js"
import * as Items from "../../Items.js"
import * as Bulk from "../../internal/bulk.js"
import type { CapacityParameter } from "./Call.js"

/**
 * One SDK call of the backend: rate limited, retried under its policy, logged
 * and translated to {@link CacheError}.
 */
export type Send = <O extends { readonly ConsumedCapacity?: unknown }>(
  operation: string,
  key: string,
  send: (signal: AbortSignal) => Promise<O>,
) => Effect.Effect<O, CacheError>

/** Options of {@link make}. */
export interface Options {
  readonly client: DynamoDBClient
  readonly table: string
  readonly send: Send
  /** Shards of a status index partition: a fingerprint says when an item's key is another layout. */
  readonly statusShards: number
  /** Spread into every request (`Backend.capacity`): whether DynamoDB reports consumed capacity. */
  readonly capacity: CapacityParameter
  /** Rounds of retrying unprocessed keys before giving up (default 8). */
  readonly unprocessedRounds?: number
  /** The first backoff between rounds (default 50 ms, doubling, capped at 2 s). */
  readonly unprocessedBackoff?: Duration.Duration
}

const names = {
  "#pk": "pk",
  "#kind": "kind",
  "#id": "id",
  "#version": "version",
  "#etag": "etag",
  "#s3Key": "s3Key",
  "#expiresAt": "expiresAt",
  "#tombstone": "tombstone",
  "#time": "time",
  "#customers": "customers",
  "#status": "status",
  "#statusPk": "statusPk",
}
const projection = Object.keys(names).join(", ")

/**
 * Reads a projected document item. `None` for an item that holds no committed
 * document (for example only a writer's intent for a create).
 */
export const fingerprintOfItem = (
  item: Record<string, AttributeValue>,
  statusShards: number,
): Option.Option<Fingerprint> => {
  const kind = item.kind?.S
  const id = item.id?.S
  const expiresAt = item.expiresAt?.N === undefined ? undefined : Number(item.expiresAt.N)
  const etag = item.etag?.S
  if (kind === undefined || id === undefined || expiresAt === undefined) return Option.none()
  if (item.tombstone?.BOOL === true) {
    return Option.some({
      _tag: "Tombstone",
      kind,
      id,
      version: undefined,
      etag,
      s3Key: undefined,
      expiresAt,
      time: undefined,
      customers: undefined,
    })
  }
  const version = item.version?.N === undefined ? undefined : Number(item.version.N)
  const s3Key = item.s3Key?.S
  if (version === undefined || s3Key === undefined) return Option.none()
  const customers = item.customers?.L?.flatMap((c) => (c.S === undefined ? [] : [c.S]))
  const status = item.status?.S
  const indexed = item.statusPk?.S
  const reindex = status !== undefined && indexed !== Items.statusPkOf(kind, status, id, statusShards)
  return Option.some({
    _tag: "Cached",
    kind,
    id,
    version,
    etag,
    s3Key,
    expiresAt,
    time: item.time?.S,
    customers,
    ...(reindex ? { reindex } : {}),
  })
}

/** The bulk reads' client and settings, built once in {@link make}. */
interface Ctx {
  readonly client: DynamoDBClient
  readonly table: string
  readonly send: Send
  readonly statusShards: number
  readonly capacity: CapacityParameter
  readonly rounds: number
  readonly firstBackoff: number
}

/** One round of a batch: found items decoded into `found`; unprocessed keys go round again after a backoff. */
const batchRound = (
  ctx: Ctx,
  label: string,
  request: KeysAndAttributes,
  round: number,
  found: Array<Fingerprint>,
): Effect.Effect<ReadonlyArray<Fingerprint>, CacheError> =>
  ctx
    .send("BatchGetItem", label, (abortSignal) =>
      ctx.client.send(new BatchGetItemCommand({ RequestItems: { [ctx.table]: request }, ...ctx.capacity }), {
        abortSignal,
      }),
    )
    .pipe(
      Effect.flatMap((out: BatchGetItemCommandOutput) => {
        for (const item of out.Responses?.[ctx.table] ?? []) {
          const fingerprint = fingerprintOfItem(item, ctx.statusShards)
          if (Option.isSome(fingerprint)) found.push(fingerprint.value)
        }
        const unprocessed = out.UnprocessedKeys?.[ctx.table]
        if (unprocessed?.Keys === undefined || unprocessed.Keys.length === 0) return Effect.succeed(found)
        if (round + 1 >= ctx.rounds) {
          return Effect.fail(
            new CacheError({
              reason: "Throttled",
              operation: "BatchGetItem",
              key: label,
              cause: `${unprocessed.Keys.length} keys still unprocessed after ${ctx.rounds} rounds`,
            }),
          )
        }
        const delay = Math.min(2000, ctx.firstBackoff * 2 ** round) * (0.5 + Math.random() / 2)
        return Effect.zipRight(
          Effect.sleep(Duration.millis(delay)),
          batchRound(ctx, label, { ...request, Keys: unprocessed.Keys }, round + 1, found),
        )
      }),
    )

/** One batch of at most 100 keys. */
const batch = (ctx: Ctx, refs: ReadonlyArray<DocumentRef>): Effect.Effect<ReadonlyArray<Fingerprint>, CacheError> =>
  batchRound(
    ctx,
    `${refs.length} keys from ${refs[0]?.kind}/${refs[0]?.id}`,
    {
      Keys: refs.map((ref) => ({ pk: { S: Items.documentPk(ref.kind, ref.id) }, sk: { S: Items.documentSk } })),
      ProjectionExpression: projection,
      ExpressionAttributeNames: names,
    },
    0,
    [],
  )

const fingerprints = (ctx: Ctx, refs: ReadonlyArray<DocumentRef>): ReturnType<Service["fingerprints"]> => {
  // BatchGetItem rejects duplicate keys in one request.
  const unique = [...new Map(refs.map((ref) => [Items.documentPk(ref.kind, ref.id), ref])).values()]
  return unique.length === 0
    ? Effect.succeed([])
    : Effect.map(
        Effect.forEach(Bulk.chunksOf(unique, Bulk.BatchGetLimit), (group) => batch(ctx, group), { concurrency: 4 }),
        (groups) => groups.flat(),
      )
}

/** One segment of the parallel Scan, page by page. */
const segment = (ctx: Ctx, index: number, total: number): Stream.Stream<Fingerprint, CacheError> =>
  Stream.paginateChunkEffect(undefined as Record<string, AttributeValue> | undefined, (start) =>
    ctx
      .send("Scan", `segment ${index}/${total}`, (abortSignal) =>
        ctx.client.send(
          new ScanCommand({
            TableName: ctx.table,
            Segment: index,
            TotalSegments: total,
            FilterExpression: "#sk = :doc",
            ProjectionExpression: projection,
            ExpressionAttributeNames: { ...names, "#sk": "sk" },
            ExpressionAttributeValues: { ":doc": { S: Items.documentSk } },
            ...ctx.capacity,
            ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
          }),
          { abortSignal },
        ),
      )
      .pipe(
        Effect.map(
          (out: ScanCommandOutput) =>
            [
              Chunk.unsafeFromArray(
                (out.Items ?? []).flatMap((item) => Option.toArray(fingerprintOfItem(item, ctx.statusShards))),
              ),
              Option.fromNullable(out.LastEvaluatedKey),
            ] as const,
        ),
      ),
  )

const scan = (ctx: Ctx, scanOptions: Parameters<Service["scan"]>[0]): ReturnType<Service["scan"]> => {
  const total = Bulk.segmentCount(scanOptions)
  return Stream.mergeAll(
    Array.from({ length: total }, (_, index) => segment(ctx, index, total)),
    { concurrency: Math.min(total, 64), bufferSize: 2 },
  )
}

/** Builds the two bulk operations of the port on `client`: the steps above over one `Ctx`. */
export const make = (options: Options): Pick<Service, "fingerprints" | "scan"> => {
  const ctx: Ctx = {
    client: options.client,
    table: options.table,
    send: options.send,
    statusShards: options.statusShards,
    capacity: options.capacity,
    rounds: Math.max(1, options.unprocessedRounds ?? 8),
    firstBackoff: Duration.toMillis(options.unprocessedBackoff ?? Duration.millis(50)),
  }
  return {
    fingerprints: (refs) => fingerprints(ctx, refs),
    scan: (scanOptions) => scan(ctx, scanOptions),
  }
}

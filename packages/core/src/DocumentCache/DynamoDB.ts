/**
 * The DynamoDB backend of the {@link DocumentCache} port (DESIGN section 4),
 * split by concern under `DynamoDB/`:
 *
 * - `Call`: the plumbing of every call (rate limit, retries, capacity, logs);
 * - `Codec`: documents, entries and intents as items;
 * - `Reads`: the single-document reads (the item, its partition, a snapshot kept
 *   for the write that follows);
 * - `Writes`: the version-rule writes, delete/tombstone/restore, over `Transact`
 *   (the transaction builder: compare-and-set on a revision, chains past 99 actions);
 * - `Protocol`: the write protocol's intent, commit and clear (three sequential
 *   round trips per write; its module comment lists every attribute and condition,
 *   for anyone who wants to reproduce it with the raw SDK), and `Intents`, the
 *   sweep's read of the sparse IntentIndex;
 * - `Bulk`: fingerprints (BatchGetItem) and the segmented Scan of reconcile;
 * - `Queries`: the index queries and pages, over `Partitions` (one index
 *   partition read page by page, several merged in order).
 *
 * Index and attribute names come from `Table.definition`.
 *
 * The many-document operations (`query`, `page`, `scan`, `fingerprints`,
 * `intents`: `Bulk`, `Queries`, `Intents`, bound in `DynamoDB/ManyDocuments.ts`)
 * are imported (`internal/streams.ts`) when the backend is built, and not at all with
 * {@link Options.documentsOnly}: what S3 event sync needs is the single-document
 * operations, so the Lambda's S3-event runtime loads no query or scan code and
 * none of effect's `Stream` (measured: 46 KB of its cold-start bundle).
 *
 * On the AWS SDK's own `DynamoDBClient`, not `@effect-aws/client-dynamodb`: its
 * service module wraps every DynamoDB command and pulls in the `effect` barrel,
 * measured at +176 KB minified and a slower import for one bundled GetItem (the
 * figures are in `TableAdmin`'s module docs); `Call` gives each command the
 * fiber's abort signal, the rate limit, retries and logs itself.
 *
 * @since 0.1.0
 */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { DocketConfig } from "../DocketConfig.js"
import { DocumentCache, type Service } from "../DocumentCache.js"
import { DocumentKinds } from "../DocumentKind.js"
import { own } from "../internal/ownedClient.js"
import * as Write from "../internal/write.js"
import { RateLimit } from "../RateLimit.js"
import * as Retry from "../Retry.js"
import * as Table from "../Table.js"
import { makeBackend } from "./DynamoDB/Call.js"
import type * as ManyDocuments from "./DynamoDB/ManyDocuments.js"
import * as Protocol from "./DynamoDB/Protocol.js"
import * as Writes from "./DynamoDB/Writes.js"

/** Options of the DynamoDB backend. */
export interface Options {
  readonly table: string
  /** `DOCKET_TTL_DAYS`: retention window in days. */
  readonly retentionDays: number
  /** `DOCKET_DRY_RUN`: mutations log what they would do and change nothing. */
  readonly dryRun?: boolean
  /**
   * `DOCKET_CONSUMED_CAPACITY`: ask DynamoDB for each request's consumed capacity
   * (`ReturnConsumedCapacity: TOTAL`) and log it as `consumedCapacity` (default false).
   */
  readonly consumedCapacity?: boolean
  /** Retry policy of every call (default {@link Retry.defaultPolicy}). */
  readonly retry?: Retry.Policy
  /**
   * Longest wait for one attempt's answer (default 30 s). The request is aborted and the
   * attempt fails as `Timeout`, which the retry policy retries: a connection that never
   * answers costs `attemptTimeout` per attempt instead of hanging the operation. AWS answers
   * a 1 MB Scan page in well under a second; DynamoDB Local on a loaded 2-core machine took
   * over 10 s for some (a 20,000-document reconcile failed at a 10 s bound), so 30 s bounds a
   * hung connection without failing slow honest ones.
   */
  readonly attemptTimeout?: Duration.DurationInput
  /** Time buckets a time-range query reads ahead in parallel (default 4). */
  readonly bucketConcurrency?: number
  /**
   * Shards of a status index partition (default `Table.statusShards`). Every
   * writer and reader of a table must agree; tests vary it.
   */
  readonly statusShards?: number
  /**
   * Only the single-document operations (`get`, `inspect`, `snapshot`, `put`,
   * `delete`, `tombstone`, `restore` and the write protocol); the many-document
   * ones (`query`, `page`, `scan`, `fingerprints`, `intents`) are not loaded and
   * die when called. Default false. The Lambda's S3-event runtime sets it: event
   * sync reads and writes one document at a time, and its cold start then loads
   * no `Stream`.
   */
  readonly documentsOnly?: boolean
}

const notLoaded = (operation: string) => (): never => {
  throw new Error(`DocumentCache.${operation} is not loaded: this DynamoDB backend was built with documentsOnly`)
}

/** The many-document operations of a `documentsOnly` backend: each dies when called. */
const documentsOnly: ManyDocuments.Operations = {
  query: notLoaded("query"),
  page: notLoaded("page"),
  scan: notLoaded("scan"),
  fingerprints: notLoaded("fingerprints"),
  intents: notLoaded("intents"),
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
    const backend = makeBackend({
      client,
      table: options.table,
      registry: yield* DocumentKinds,
      retentionDays: options.retentionDays,
      statusShards: Math.max(1, Math.floor(options.statusShards ?? Table.statusShards)),
      dryRun: options.dryRun === true,
      consumedCapacity: options.consumedCapacity === true,
      rateLimit: yield* RateLimit,
      retry: options.retry ?? Retry.defaultPolicy,
      attemptTimeoutMs: Duration.toMillis(Duration.decode(options.attemptTimeout ?? "30 seconds")),
    })
    const writes = Writes.make(backend)
    const many =
      options.documentsOnly === true
        ? documentsOnly
        : (yield* Effect.promise(() => import("../internal/streams.js"))).manyDocuments(
            backend,
            Math.max(1, options.bucketConcurrency ?? 4),
          )
    return Write.validated({ ...many, ...writes.service, ...Protocol.make(backend, writes) })
  })

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
      // Our own client: the middleware stack resolved once per command (internal/ownedClient.ts).
      Effect.sync(() => own(new DynamoDBClient({ ...options.client, maxAttempts: 1 }))),
      (client) => Effect.sync(() => client.destroy()),
    ).pipe(Effect.flatMap((client) => make(client, options))),
  )

/**
 * Provides the DynamoDB backend from {@link DocketConfig}: `DOCKET_TABLE`,
 * `AWS_REGION`, `DOCKET_DYNAMODB_ENDPOINT`, `DOCKET_TTL_DAYS`, `DOCKET_DRY_RUN`,
 * `DOCKET_MAX_ATTEMPTS`, `DOCKET_ATTEMPT_TIMEOUT`. Credentials come the SDK's usual way.
 * `options` adds what the environment does not say ({@link Options.documentsOnly}).
 */
export const layerConfigWith = (
  options: Pick<Options, "documentsOnly"> = {},
): Layer.Layer<DocumentCache, ConfigError.ConfigError, DocumentKinds | RateLimit | DocketConfig> =>
  Layer.unwrapEffect(
    Effect.map(DocketConfig, (settings) =>
      layer({
        ...options,
        table: settings.table,
        retentionDays: settings.ttlDays,
        dryRun: settings.dryRun,
        consumedCapacity: settings.consumedCapacity,
        retry: { ...Retry.defaultPolicy, maxAttempts: settings.maxAttempts },
        attemptTimeout: Duration.millis(settings.attemptTimeoutMillis),
        client: {
          region: settings.region,
          ...Option.match(settings.dynamodbEndpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
        },
      }),
    ),
  )

/** {@link layerConfigWith} every operation: the backend from {@link DocketConfig}. */
export const layerConfig: Layer.Layer<
  DocumentCache,
  ConfigError.ConfigError,
  DocumentKinds | RateLimit | DocketConfig
> = layerConfigWith()

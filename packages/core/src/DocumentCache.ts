/**
 * The `DocumentCache` port: Docket's DynamoDB cache and its three indexes.
 * The DynamoDB backend is in `DocumentCache/DynamoDB.ts`; a memory layer that
 * behaves the same (one contract suite runs against both) is in this module.
 *
 * Versions: a document may only replace a cached one with a higher `version`.
 * The same version with the same content is a no-op; anything older (or the
 * same version with other content) is a {@link StaleWriteError}.
 *
 * The write protocol (DESIGN section 6) has three operations of its own:
 * {@link Service.intend} records a writer's {@link Intent} next to the committed
 * document without changing it (and returns the prior state in the same round
 * trip), {@link Service.commit} writes the committed document and clears the
 * intent in one transaction, and {@link Service.clearIntent} drops it. Reads and
 * queries see committed state only; every other write refuses a document that
 * carries an intent ({@link ConditionFailedError}), so nothing but the intent's
 * owner (or a resolver of an expired intent) can change it meanwhile.
 *
 * The port's types (`Service`, its requests and outcomes) are declared in
 * `internal/cacheTypes.ts` and re-exported here, so that the memory layer and the
 * rules every backend shares import them without importing this module back.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { DocumentKinds } from "./DocumentKind.js"
import type { Service } from "./internal/cacheTypes.js"
import type * as Memory from "./internal/memoryCache.js"

export {
  CacheError,
  ConditionFailedError,
  CursorError,
  InvalidQueryError,
  noIntentCondition,
  StaleWriteError,
} from "./CacheError.js"

export type {
  CommitChange,
  CommitOutcome,
  CommitRequest,
  Condition,
  DeleteOutcome,
  DocumentRef,
  Fingerprint,
  Inspection,
  Intent,
  IntentChange,
  IntentOutcome,
  IntentRequest,
  Page,
  PendingIntent,
  PutOptions,
  PutOutcome,
  Query,
  QueryTarget,
  ScanOptions,
  Service,
  Snapshot,
} from "./internal/cacheTypes.js"

/** The DocumentCache service tag. */
export class DocumentCache extends Context.Tag("@docket/core/DocumentCache")<DocumentCache, Service>() {}

/** Options of the memory layer. */
export type MemoryOptions = Memory.Options

/**
 * A DocumentCache in memory with the same behaviour as the DynamoDB backend
 * (the contract suite runs against both): for tests and for workflows that run
 * without AWS. Time comes from effect's `Clock`, so `TestClock` drives expiry.
 */
export const makeMemory = (options?: MemoryOptions): Effect.Effect<Service, never, DocumentKinds> =>
  // Imported when a memory cache is built: its queries are Streams, and this port module is on
  // every path (the Lambda's cold start among them), which then loads no Stream.
  Effect.flatMap(
    Effect.promise(() => import("./internal/memoryStreams.js")),
    (memory) => memory.memoryCache(options),
  )

/** Provides {@link makeMemory}. Needs the registered kinds (`DocumentKind.layerDefault`). */
export const layerMemory = (options: MemoryOptions = {}): Layer.Layer<DocumentCache, never, DocumentKinds> =>
  Layer.effect(DocumentCache, makeMemory(options))

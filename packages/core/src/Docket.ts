/**
 * The composition layer: everything an application needs to use Docket, from
 * one set of {@link DocketConfig.Settings} — the settings themselves, the
 * document kinds, the rate limit, the DynamoDB cache, the S3 store, and the
 * {@link WriteThrough} and {@link FallbackReader} workflows.
 *
 * @example
 * ```ts
 * import * as Docket from "@docket/core/Docket"
 * import * as WriteThrough from "@docket/core/WriteThrough"
 * const program = WriteThrough.write(document)
 * program.pipe(Effect.provide(Docket.layerConfig()), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 */
import type { DynamoDBClientConfig } from "@aws-sdk/client-dynamodb"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as DocketConfig from "./DocketConfig.js"
import * as DynamoDB from "./DocumentCache/DynamoDB.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentKind from "./DocumentKind.js"
import * as S3 from "./DocumentStore/S3.js"
import * as DocumentStore from "./DocumentStore.js"
import * as FallbackReader from "./FallbackReader.js"
import * as RateLimit from "./RateLimit.js"
import * as Retry from "./Retry.js"
import * as WriteThrough from "./WriteThrough.js"

/** Every service the composition layer provides. */
export type Services =
  | DocketConfig.DocketConfig
  | DocumentKind.DocumentKinds
  | RateLimit.RateLimit
  | DocumentCache.DocumentCache
  | DocumentStore.DocumentStore
  | WriteThrough.WriteThrough
  | FallbackReader.FallbackReader

/** What the settings do not say. */
export interface Options {
  /** The document kinds (default: the built-in change and announcement). */
  readonly kinds?: ReadonlyArray<DocumentKind.DocumentKind<any>>
  /** S3 store options beyond the settings (timeouts, size limit, client settings such as credentials). */
  readonly store?: Omit<S3.Options, "bucket" | "prefix">
  /** DynamoDB client settings beyond the settings (e.g. credentials). */
  readonly dynamodbClient?: DynamoDBClientConfig
  /** Status index shards (default `Table.statusShards`; tests and the migration benchmark vary it). */
  readonly statusShards?: number
  /**
   * The process's rate limiter (default: a token bucket of `DOCKET_RPS` / `DOCKET_BURST`). Give one
   * layer to several Docket layers to share one budget, or wrap the default to observe its grants.
   */
  readonly rateLimit?: Layer.Layer<RateLimit.RateLimit>
}

const kindsLayer = (options: Options): Layer.Layer<DocumentKind.DocumentKinds> =>
  options.kinds === undefined ? DocumentKind.layerDefault : DocumentKind.layer(options.kinds)

/** The workflows over whatever ports, kinds and settings are provided below them. */
export const layerWorkflows: Layer.Layer<
  WriteThrough.WriteThrough | FallbackReader.FallbackReader,
  never,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocketConfig.DocketConfig | DocumentKind.DocumentKinds
> = Layer.mergeAll(WriteThrough.layer, FallbackReader.layer)

/**
 * Docket on AWS (or any endpoints the settings name): DynamoDB cache with the
 * rate limit, S3 store, workflows. SDK clients are created when the layer is
 * built and destroyed when it is released.
 */
export const layer = (settings: DocketConfig.Settings, options: Options = {}): Layer.Layer<Services> => {
  const base = Layer.mergeAll(DocketConfig.layer(settings), kindsLayer(options))
  const rateLimit = options.rateLimit ?? RateLimit.layerConfig.pipe(Layer.provide(base))
  const cache = DynamoDB.layer({
    table: settings.table,
    retentionDays: settings.ttlDays,
    dryRun: settings.dryRun,
    retry: { ...Retry.defaultPolicy, maxAttempts: settings.maxAttempts },
    attemptTimeout: `${settings.attemptTimeoutMillis} millis`,
    client: {
      region: settings.region,
      ...Option.match(settings.dynamodbEndpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
      ...options.dynamodbClient,
    },
    ...(options.statusShards !== undefined ? { statusShards: options.statusShards } : {}),
  })
  const store = S3.layer(S3.optionsFromSettings(settings, options.store ?? {}))
  const ports = Layer.mergeAll(cache, store).pipe(Layer.provideMerge(rateLimit), Layer.provideMerge(base))
  return layerWorkflows.pipe(Layer.provideMerge(ports))
}

/** {@link layer} with the settings read from the environment (DESIGN section 10). */
export const layerConfig = (options: Options = {}): Layer.Layer<Services, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(DocketConfig.config, (settings) => layer(settings, options)))

/**
 * Docket in memory (no AWS, no local stack): the memory cache and store, no
 * rate limit. For tests and examples; `settings` default to a bucket `memory`.
 */
export const layerMemory = (
  settings: Partial<DocketConfig.Settings> = {},
  options: Pick<Options, "kinds"> & { readonly store?: DocumentStore.MemoryOptions } = {},
): Layer.Layer<Services> => {
  const resolved = DocketConfig.make({ bucket: "memory", ...settings })
  const base = Layer.mergeAll(DocketConfig.layer(resolved), kindsLayer(options))
  const ports = Layer.mergeAll(
    DocumentCache.layerMemory({ retentionDays: resolved.ttlDays, dryRun: resolved.dryRun }),
    DocumentStore.layerMemory({ prefix: resolved.prefix, bucket: resolved.bucket, ...options.store }),
    RateLimit.layerUnlimited,
  ).pipe(Layer.provideMerge(base))
  return layerWorkflows.pipe(Layer.provideMerge(ports))
}

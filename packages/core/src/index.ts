/**
 * @docket/core: document schemas, the DynamoDB cache and S3 store ports, and the
 * workflows (write-through, fallback read, event sync, backfill, reconcile).
 *
 * Bundled code should import modules by deep path (`@docket/core/WriteThrough`).
 *
 * @since 0.1.0
 */
export * as Arbitraries from "./Arbitraries.js"
export * as Backfill from "./Backfill.js"
export * as CacheEntry from "./CacheEntry.js"
export * as CacheError from "./CacheError.js"
export * as CacheMetrics from "./CacheMetrics.js"
export * as Docket from "./Docket.js"
export * as DocketConfig from "./DocketConfig.js"
export * as DocketError from "./DocketError.js"
export * as Doctor from "./Doctor.js"
export * as Document from "./Document.js"
export * as DocumentCache from "./DocumentCache.js"
export * as DocumentKind from "./DocumentKind.js"
export * as DocumentStore from "./DocumentStore.js"
export * as FallbackReader from "./FallbackReader.js"
export * as FaultInjection from "./FaultInjection.js"
export * as Items from "./Items.js"
export * as MetricsExport from "./MetricsExport.js"
export * as OperationLog from "./OperationLog.js"
export * as Query from "./Query.js"
export * as RateLimit from "./RateLimit.js"
export * as Reconcile from "./Reconcile.js"
export * as Retry from "./Retry.js"
export * as S3Event from "./S3Event.js"
export * as S3EventSync from "./S3EventSync.js"
export * as S3Key from "./S3Key.js"
export * as Sequencer from "./Sequencer.js"
export * as StoreQuery from "./StoreQuery.js"
export * as Table from "./Table.js"
export * as TraceContext from "./TraceContext.js"
export * as Tracing from "./Tracing.js"
export * as WriteThrough from "./WriteThrough.js"

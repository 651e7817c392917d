/**
 * What core's real backends build that returns a `Stream`, behind one dynamic
 * import: the DynamoDB backend's many-document operations (`ManyDocuments`) and
 * the S3 store's listing (`s3List`). Each backend imports this module when it
 * builds a service that has those operations (never with `documentsOnly`), so
 * the single-document paths (S3 event sync, the Lambda's S3-event cold start)
 * load no `Stream`. The memory layers' are in `memoryStreams.ts`.
 *
 * One module per group, not one per operation: every dynamic import is a split
 * point of the bundler, and the code two of them share becomes a chunk of its
 * own; with two split points instead of four (and the Lambda's own two made one,
 * `Tasks`) its cold start loads 17 files instead of 29 (measured: ~8% of its
 * import CPU, more than the bytes saved).
 */
export { make as manyDocuments } from "../DocumentCache/DynamoDB/ManyDocuments.js"
export { list as s3List } from "./s3List.js"

/**
 * The memory layers' `Stream`s, behind one dynamic import: the memory cache
 * (`memoryCache`: its queries, scan and intents are Streams) and the memory
 * store's listing (`memoryList`). The port modules (`DocumentCache.ts`,
 * `DocumentStore.ts`), which every path imports, load this module when they
 * build a memory layer, so that a path which builds none (the Lambda's S3-event
 * cold start) loads no `Stream`. One module for both: one split point of the
 * bundler (see `streams.ts`).
 */
export { make as memoryCache } from "./memoryCache.js"
export { list as memoryList } from "./memoryList.js"

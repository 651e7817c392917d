/** Types of `package.mjs` (the bundler and the deterministic zip). */
export declare const packageDir: string
export declare const buildDir: string
/**
 * Bundles `entry` into `outfile` the way the Lambda is shipped (code splitting:
 * chunks in `chunks/` beside it). `bytes`: what importing `outfile` loads (the
 * entry and its static chunks); `totalBytes` and `files`: every output;
 * `loadedInputs`: the source files in what importing `outfile` loads.
 */
export declare const bundle: (options: {
  readonly entry: string
  readonly outfile: string
  readonly minify?: boolean
}) => Promise<{
  readonly bytes: number
  readonly totalBytes: number
  readonly files: ReadonlyArray<string>
  readonly loadedFiles: ReadonlyArray<string>
  readonly sha256: string
  readonly loadedInputs: ReadonlyArray<string>
  readonly metafile: unknown
}>
/** Zips files deterministically (sorted entries, fixed mtime and permissions, level 9). */
export declare const zip: (files: Record<string, Uint8Array>) => Uint8Array
/** The Lambda entry `handler.mjs`: turns on the compile cache from `compile-cache/` beside it, then imports `bundle.mjs`. */
export declare const entrySource: string
/** The V8 flags of the Lambda Node.js runtime's command line that change V8's cache tag. */
export declare const lambdaV8Flags: ReadonlyArray<string>
/** The uid Lambda runs functions as; it ends the compile cache folder's name. */
export declare const lambdaUid: number
/** What `compileCache` wrote: the folder's name, its files (relative to the package folder), their bytes. */
export interface CompileCache {
  readonly folder: string
  readonly files: ReadonlyArray<string>
  readonly bytes: number
  readonly reproducible: boolean
}
/** Generates the compile cache of importing `dir/handler.mjs` into `dir/compile-cache/`, by one import with this Node. */
export declare const compileCache: (options: {
  readonly dir: string
  readonly files: ReadonlyArray<string>
  readonly uid?: number
  readonly node?: string
}) => CompileCache
/** Packages `entry` into `dir`: `bundle.mjs` and `chunks/`, the entry `handler.mjs`, and (unless `cache` is false) the compile cache. */
export declare const packageHandler: (options: {
  readonly entry: string
  readonly dir: string
  readonly cache?: boolean
  readonly uid?: number
  readonly node?: string
}) => Promise<{
  readonly bundled: Awaited<ReturnType<typeof bundle>>
  readonly cache: CompileCache | undefined
  readonly files: ReadonlyArray<string>
}>

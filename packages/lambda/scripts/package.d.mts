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
  readonly sha256: string
  readonly loadedInputs: ReadonlyArray<string>
  readonly metafile: unknown
}>
/** Zips files deterministically (sorted entries, fixed mtime and permissions, level 9). */
export declare const zip: (files: Record<string, Uint8Array>) => Uint8Array

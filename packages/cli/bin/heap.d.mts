/** Types of bin/heap.mjs (plain JavaScript, loaded by bin/docket.mjs before anything is built). */
export declare const bulkCommands: ReadonlyArray<string>
export declare const bulkHeapMB: number
export declare const bulkSemiSpaceMB: number
export declare const bulkFlags: ReadonlyArray<string>
export declare const childMarker: string
export declare const heapLimitSet: (execArgv: ReadonlyArray<string>, nodeOptions: string | undefined) => boolean
export declare const isBulk: (args: ReadonlyArray<string>) => boolean
export declare const heapFlags: (
  args: ReadonlyArray<string>,
  execArgv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>,
) => Array<string> | undefined
export declare const reexec: (
  flags: ReadonlyArray<string>,
  script: string,
  args: ReadonlyArray<string>,
) => Promise<void>
export declare const absorbDoubledSignals: () => void

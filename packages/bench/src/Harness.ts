/**
 * The benchmark harness: scenarios compare Docket against a baseline measured in
 * the same run on the same embedded stack (raw AWS SDK calls, or the S3-only way
 * for queries), and write `results/NAME.json` in the format of DESIGN section 10.
 *
 * @since 0.1.0
 */
import { cpus, loadavg, totalmem } from "node:os"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as LocalStack from "@docket/local/LocalStack"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"

/** What a scenario gets to run with. */
export interface Context {
  /** A short version for CI: smaller corpora, fewer samples. */
  readonly quick: boolean
  /** The embedded stack, started once for the whole run. */
  readonly stack: LocalStack.Stack
  /** A fresh table and bucket on the stack. */
  readonly isolated: (label: string) => Promise<Isolated>
  /** Progress for people, on stderr. */
  readonly log: (message: string) => void
}

/** A fresh table and bucket. */
export type Isolated = LocalStack.Isolated

/** Which way a ratio has to lie from its target: at most (`<=`) or at least (`>=`). */
export type Direction = "<=" | ">="

/** `ratio direction target`, e.g. `1.07 <= 1.10`. */
export const meets = (ratio: number, direction: Direction, target: number): boolean =>
  Number.isFinite(ratio) && (direction === "<=" ? ratio <= target : ratio >= target)

/** A further target a result must also meet (a bundle size, a second baseline). */
export interface Check {
  readonly name: string
  readonly value: number
  readonly target: number
  readonly direction: Direction
}

/** A check with its verdict, as written to the results file. */
export interface CheckResult extends Check {
  readonly meetsTarget: boolean
}

/** What a scenario measured. */
export interface Result {
  readonly baseline: Record<string, unknown>
  readonly docket: Record<string, unknown>
  /** Docket relative to the baseline, as the target states it (time ratio, speedup, or rate ratio). */
  readonly ratio: number
  /** The number the ratio is held against. */
  readonly target: number
  /** `<=`: the ratio must not exceed the target; `>=`: it must reach it. */
  readonly direction: Direction
  /** The target in words, e.g. `docket/raw p50, worst of the three queries`. */
  readonly criterion: string
  /** Further targets that must hold too; `meetsTarget` is false when one misses. */
  readonly checks?: ReadonlyArray<Check>
  /** Context rows: figures that explain the ratio (older or naive baselines), not targeted. */
  readonly context?: Record<string, unknown>
  readonly notes?: string
}

/** A result written to its own file, for scenarios that produce several. */
export interface NamedResult extends Result {
  readonly name: string
  readonly description: string
}

/** A benchmark scenario: the default export of a file in `src/scenarios/`. */
export interface Scenario {
  readonly name: string
  readonly description: string
  /** The results files it writes, when they are not just `name` (one run, several ratios). */
  readonly produces?: ReadonlyArray<string>
  readonly run: (context: Context) => Promise<Result | ReadonlyArray<NamedResult>>
}

/** The file written per result. */
export interface ResultFile extends Omit<Result, "checks"> {
  readonly scenario: string
  readonly description: string
  readonly meetsTarget: boolean
  readonly checks?: ReadonlyArray<CheckResult>
  readonly machine: Machine
  /** DynamoDB Local's JIT in this run (`LocalStack.StartOptions.dynamodbJit`); absent in results before 2026-12-04: `"startup"`. */
  readonly dynamodbJit?: LocalStack.DynamodbJit
  /** The 1, 5 and 15 minute load averages when the result was taken (other work on the machine). */
  readonly loadAverage: ReadonlyArray<number>
  readonly quick: boolean
  readonly date: string
  readonly durationMs: number
}

/** The verdict of a result: its ratio and every check against their targets. */
export const verdict = (
  result: Result,
): { readonly meetsTarget: boolean; readonly checks?: ReadonlyArray<CheckResult> } => {
  const checks = result.checks?.map((c) => ({ ...c, meetsTarget: meets(c.value, c.direction, c.target) }))
  return {
    meetsTarget: meets(result.ratio, result.direction, result.target) && (checks ?? []).every((c) => c.meetsTarget),
    ...(checks === undefined ? {} : { checks }),
  }
}

/** `a / b` rounded to three decimals (the form every ratio is reported in). */
export const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000

/** The machine a result was measured on. */
export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly node: string
  readonly platform: string
}

/** This machine. */
export const machine = (): Machine => ({
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
})

/** Summary statistics of durations in milliseconds. */
export interface Stats {
  readonly n: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly mean: number
  readonly min: number
  readonly max: number
}

const round = (n: number) => Math.round(n * 1000) / 1000

/** Percentiles (nearest rank) and mean of samples. */
export const stats = (samples: ReadonlyArray<number>): Stats => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
  return {
    n: sorted.length,
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
    min: round(sorted[0] ?? 0),
    max: round(sorted.at(-1) ?? 0),
  }
}

/**
 * Times `fn` `samples` times, one after another, after `warmup` untimed calls.
 * `fn` gets the sample index.
 */
export const measure = async (
  samples: number,
  fn: (i: number) => Promise<unknown>,
  options: { readonly warmup?: number } = {},
): Promise<Stats> => {
  for (let i = 0; i < (options.warmup ?? Math.min(20, samples)); i++) await fn(i)
  const durations: Array<number> = []
  for (let i = 0; i < samples; i++) {
    const start = performance.now()
    await fn(i)
    durations.push(performance.now() - start)
  }
  return stats(durations)
}

/** Runs `fn` over `items` in order of start, `concurrency` at a time (at least one). */
export const pool = async <A>(
  items: ReadonlyArray<A>,
  concurrency: number,
  fn: (item: A) => Promise<unknown>,
): Promise<void> => {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      for (;;) {
        const i = next++
        if (i >= items.length) return
        await fn(items[i] as A)
      }
    }),
  )
}

/**
 * Runs `fn` over `items` with `concurrency` workers; returns per-call stats and
 * the throughput in items per second.
 */
export const throughput = async <A>(
  items: ReadonlyArray<A>,
  concurrency: number,
  fn: (item: A) => Promise<unknown>,
): Promise<Stats & { readonly perSecond: number; readonly elapsedMs: number }> => {
  const durations: Array<number> = []
  const started = performance.now()
  await pool(items, concurrency, async (item) => {
    const start = performance.now()
    await fn(item)
    durations.push(performance.now() - start)
  })
  const elapsedMs = performance.now() - started
  return { ...stats(durations), perSecond: round((items.length / elapsedMs) * 1000), elapsedMs: round(elapsedMs) }
}

/**
 * Alternates baseline and Docket rounds so that drift in the machine's load hits
 * both alike; returns the samples of each.
 */
export const interleave = async (
  rounds: number,
  baseline: (round: number) => Promise<ReadonlyArray<number>>,
  docket: (round: number) => Promise<ReadonlyArray<number>>,
): Promise<{ readonly baseline: Stats; readonly docket: Stats }> => {
  const a: Array<number> = []
  const b: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    a.push(...(await baseline(r)))
    b.push(...(await docket(r)))
  }
  return { baseline: stats(a), docket: stats(b) }
}

/** Creates a uniquely named table and bucket on the stack. */
export const isolatedOn =
  (stack: LocalStack.Stack) =>
  (label: string): Promise<Isolated> =>
    LocalStack.isolate(stack, label, "bench")

/** An isolated table and bucket's endpoints; `overrides` put a proxy in front of one. */
export const endpointsOf = (iso: Isolated, overrides: Partial<LocalStack.Endpoints> = {}): LocalStack.Endpoints => ({
  region: iso.clientConfig.s3.region,
  credentials: iso.clientConfig.s3.credentials,
  dynamodbEndpoint: iso.clientConfig.dynamodb.endpoint,
  s3Endpoint: iso.clientConfig.s3.endpoint,
  ...overrides,
})

/**
 * Docket over `target`'s table and bucket on `endpoints`, as every scenario runs it: a
 * ten-year retention (no corpus document expires) and no practical rate limit (rps
 * 100,000), then `settings` and `options` on top (the stack's credentials stay unless
 * `options` sets others).
 */
export const docketLayer = (
  target: { readonly table: string; readonly bucket: string },
  endpoints: LocalStack.Endpoints,
  settings: Partial<DocketConfig.Settings> = {},
  options: Docket.Options = {},
): ReturnType<typeof Docket.layer> =>
  Docket.layer(
    DocketConfig.make({
      table: target.table,
      bucket: target.bucket,
      region: endpoints.region,
      dynamodbEndpoint: Option.some(endpoints.dynamodbEndpoint),
      s3Endpoint: Option.some(endpoints.s3Endpoint),
      ttlDays: 3650,
      rps: 100_000,
      ...settings,
    }),
    {
      ...options,
      dynamodbClient: { credentials: endpoints.credentials, ...options.dynamodbClient },
      store: { ...options.store, clientConfig: { credentials: endpoints.credentials, ...options.store?.clientConfig } },
    },
  )

/**
 * Docket's JSON log lines formatted as in production (their cost is Docket's)
 * but not printed, so benchmark output stays readable.
 */
export const silentJsonLogger = Logger.replace(
  Logger.defaultLogger,
  Logger.map(Logger.jsonLogger, () => undefined),
)

/** The machine's load averages, rounded. */
export const loadAverage = (): ReadonlyArray<number> => loadavg().map((n) => Math.round(n * 100) / 100)

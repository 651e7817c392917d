/**
 * Progress of a long-running command on stderr, one renderer for every command
 * (`put` of NDJSON, `backfill`, `reconcile`, `heal`): a bar with done/total,
 * percent, rate and ETA, redrawn in place on a terminal (at most every 100 ms);
 * on a pipe or file, or with `--format json|ndjson`, one JSON line every
 * `everyMs` (default 5 s) and at the end, never an escape sequence. On a
 * terminal the line is erased with an escape only where `Terminal.colorAllowed`
 * says so (`NO_COLOR` unset), otherwise overwritten with spaces. The caller
 * supplies the counts; this module only measures time and renders.
 *
 * @example
 * ```ts
 * const progress = yield* Progress.make({ label: "put", total: documents.length })
 * yield* Effect.forEach(documents, (d) => write(d).pipe(Effect.tap(() => progress.advance(1))))
 * yield* progress.finish
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as GlobalOptions from "./GlobalOptions.js"
import * as Terminal from "./Terminal.js"

/** What the caller reports. */
export interface Counts {
  /** Units done so far. */
  readonly done: number
  /** Units in all, when known (a listing still running does not know it yet). */
  readonly total?: number | undefined
  /** Further counts shown after the bar, e.g. `{ written: 10, failed: 1 }` (or a word: `{ phase: "reading" }`). */
  readonly extra?: Readonly<Record<string, number | string>>
  /** Fields only the JSON lines carry (too long for the bar), e.g. backfill's checkpoint. */
  readonly detail?: Readonly<Record<string, unknown>>
}

/** A rendered moment: the counts plus what time says about them. */
export interface Snapshot extends Counts {
  readonly label: string
  readonly elapsedMs: number
  /** Units per second since the start. */
  readonly ratePerSecond: number
  /** Time left at the current rate, when the total is known and the rate is not zero. */
  readonly etaMs: number | undefined
}

/** Computes a snapshot (pure; exported for tests). */
export const snapshot = (label: string, counts: Counts, elapsedMs: number): Snapshot => {
  const ratePerSecond = elapsedMs > 0 ? (counts.done * 1000) / elapsedMs : 0
  const left = counts.total === undefined ? undefined : Math.max(0, counts.total - counts.done)
  const etaMs = left === undefined || ratePerSecond <= 0 ? undefined : (left / ratePerSecond) * 1000
  return { ...counts, label, elapsedMs, ratePerSecond, etaMs }
}

/** Formats a duration for people: `850 ms`, `12 s`, `3 m 05 s`, `2 h 10 m`. */
export const duration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} m ${String(s % 60).padStart(2, "0")} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`
}

const rate = (perSecond: number): string =>
  perSecond >= 100 ? `${Math.round(perSecond)}/s` : `${perSecond.toFixed(1)}/s`

/** One line for a terminal: `put [######......] 120/400 30%  41.2/s  ETA 7 s  written 118  failed 2`. */
export const renderLine = (s: Snapshot, width = 20): string => {
  const parts: Array<string> = [s.label]
  if (s.total !== undefined && s.total > 0) {
    const fraction = Math.min(1, s.done / s.total)
    const filled = Math.round(width * fraction)
    parts.push(
      `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${s.done}/${s.total} ${Math.floor(fraction * 100)}%`,
    )
  } else {
    parts.push(s.total === 0 ? "0/0" : `${s.done}/?`)
  }
  parts.push(rate(s.ratePerSecond))
  parts.push(s.etaMs === undefined ? (s.total === undefined ? "ETA ?" : "") : `ETA ${duration(s.etaMs)}`)
  for (const [name, value] of Object.entries(s.extra ?? {})) parts.push(`${name} ${value}`)
  return parts.filter((p) => p !== "").join("  ")
}

/** One JSON line for programs: `{"progress":{"label":...,"done":...,"total":...,"ratePerSecond":...,"etaMs":...}}`. */
export const renderJson = (s: Snapshot): string =>
  JSON.stringify({
    progress: {
      label: s.label,
      done: s.done,
      total: s.total ?? null,
      ...s.extra,
      ...s.detail,
      elapsedMs: Math.round(s.elapsedMs),
      ratePerSecond: Math.round(s.ratePerSecond * 10) / 10,
      etaMs: s.etaMs === undefined ? null : Math.round(s.etaMs),
    },
  })

/** Where and how progress is drawn. */
export interface Options {
  readonly label: string
  readonly total?: number
  /** The command's `--format`: anything but `table` means JSON lines, even on a terminal. */
  readonly format?: GlobalOptions.Format
  /** Draw in place (default: stderr is a terminal and the format is `table`). */
  readonly tty?: boolean
  /** Whether the terminal may get escape sequences (default: `Terminal.colorAllowed(process.stderr)`). */
  readonly escapes?: boolean
  /** Between JSON lines when not on a terminal (default 5000 ms). */
  readonly everyMs?: number
  /** Where lines go (default stderr). */
  readonly write?: (text: string) => void
}

/** A running progress display. */
export interface Progress {
  /** Adds `n` to the done count (and merges `extra` counts). */
  readonly advance: (n: number, extra?: Readonly<Record<string, number | string>>) => Effect.Effect<void>
  /** Replaces the counts (for callers that report absolute numbers, such as backfill). */
  readonly update: (counts: Counts) => Effect.Effect<void>
  /** Draws the final state and ends the line. */
  readonly finish: Effect.Effect<void>
}

/** Starts a progress display now. */
export const make = (options: Options): Effect.Effect<Progress> =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const tty = options.tty ?? ((options.format ?? "table") === "table" && process.stderr.isTTY === true)
    const write = options.write ?? ((text: string) => process.stderr.write(text))
    const every = tty ? 100 : (options.everyMs ?? 5000)
    let counts: Counts = { done: 0, total: options.total }
    let lastDraw = Number.NEGATIVE_INFINITY
    let drawn = false
    let lastLength = 0
    let lastKey = ""
    const escapes = options.escapes ?? Terminal.colorAllowed(process.stderr)
    const draw = (force: boolean) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (!force && now - lastDraw < every) return
        // The same counts again (a caller's final report, then finish) add nothing: drawn once.
        const key = JSON.stringify(counts)
        if (key === lastKey) return
        lastKey = key
        lastDraw = now
        const s = snapshot(options.label, counts, now - start)
        if (tty) {
          // With NO_COLOR no escape at all: overwrite the previous line with spaces instead of erasing it.
          const line = renderLine(s)
          write(escapes ? `\r\x1b[2K${line}` : `\r${line.padEnd(lastLength)}`)
          lastLength = line.length
        } else write(`${renderJson(s)}\n`)
        drawn = true
      })
    return {
      advance: (n, extra) =>
        Effect.suspend(() => {
          const merged: Record<string, number | string> = { ...counts.extra }
          for (const [k, v] of Object.entries(extra ?? {})) {
            const before = merged[k]
            merged[k] = typeof v === "number" && typeof before !== "string" ? (before ?? 0) + v : v
          }
          counts = { ...counts, done: counts.done + n, extra: merged }
          return draw(false)
        }),
      update: (next) =>
        Effect.suspend(() => {
          counts = { ...next, total: next.total ?? counts.total }
          return draw(false)
        }),
      finish: Effect.suspend(() =>
        Effect.zipRight(
          draw(true),
          Effect.sync(() => {
            if (tty && drawn) write("\n")
          }),
        ),
      ),
    }
  })

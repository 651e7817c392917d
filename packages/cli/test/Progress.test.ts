import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Progress from "../src/Progress.js"

describe("Progress", () => {
  it("renders a bar with done/total, percent, rate and ETA", () => {
    const s = Progress.snapshot("put", { done: 100, total: 400, extra: { written: 98, failed: 2 } }, 10_000)
    expect(s.ratePerSecond).toBe(10)
    expect(s.etaMs).toBe(30_000)
    expect(Progress.renderLine(s)).toBe(
      "put  [#####...............] 100/400 25%  10.0/s  ETA 30 s  written 98  failed 2",
    )
    expect(Progress.renderLine(Progress.snapshot("backfill", { done: 7 }, 1000))).toBe("backfill  7/?  7.0/s  ETA ?")
    expect(Progress.duration(185_000)).toBe("3 m 05 s")
    expect(Progress.duration(7_800_000)).toBe("2 h 10 m")
  })

  it.effect("off a terminal: JSON lines at most every everyMs and at the end, no escape sequences", () =>
    Effect.gen(function* () {
      const out: Array<string> = []
      const progress = yield* Progress.make({
        label: "put",
        total: 3,
        tty: false,
        everyMs: 1000,
        write: (t) => out.push(t),
      })
      yield* progress.advance(1, { written: 1 })
      yield* TestClock.adjust("500 millis")
      yield* progress.advance(1, { written: 1 })
      yield* TestClock.adjust("1 second")
      yield* progress.advance(1, { failed: 1 })
      yield* progress.finish
      expect(out.every((line) => !line.includes("\x1b"))).toBe(true)
      const lines = out.map((line) => JSON.parse(line).progress)
      // finish draws nothing new: the last advance already drew these counts.
      expect(lines.map((l) => l.done)).toStrictEqual([1, 3])
      expect(lines[1]).toStrictEqual({
        label: "put",
        done: 3,
        total: 3,
        written: 2,
        failed: 1,
        elapsedMs: 1500,
        ratePerSecond: 2,
        etaMs: 0,
      })
    }),
  )

  it.effect("on a terminal: redraws one line in place and ends it", () =>
    Effect.gen(function* () {
      const out: Array<string> = []
      const progress = yield* Progress.make({
        label: "put",
        total: 2,
        tty: true,
        escapes: true,
        write: (t) => out.push(t),
      })
      yield* TestClock.adjust("1 second")
      yield* progress.advance(1)
      yield* progress.finish
      expect(out[0]).toBe("\r\x1b[2Kput  [##########..........] 1/2 50%  1.0/s  ETA 1 s")
      expect(out.at(-1)).toBe("\n")
      // NO_COLOR: the same line, redrawn with a carriage return only.
      const plain: Array<string> = []
      const quiet = yield* Progress.make({
        label: "put",
        total: 2,
        tty: true,
        escapes: false,
        write: (t) => plain.push(t),
      })
      yield* quiet.advance(1)
      yield* quiet.finish
      expect(plain.every((t) => !t.includes("\x1b"))).toBe(true)
      expect(plain[0]).toMatch(/^\rput {2}\[/)
    }),
  )
})

// Runs in every test worker, for every test file.
//
// Vitest's workers report progress to its main process over an RPC with a fixed 60 s
// deadline that no option changes; a worker whose event loop is blocked longer than that
// (synchronous work: a child process run with execFileSync, a long synchronous loop)
// fails the whole run with "Timeout calling onTaskUpdate" although every test passed.
//
// Each file reports its longest event-loop stall over 10 s, naming the file, so the test
// that blocks is found from the log instead of guessed. (Lowering the workers' priority
// below the main process made it worse on a machine shared with other runs: a worker
// niced below everyone else's processes was starved for over 60 s.)
import { afterAll, expect } from "vitest"

let last = Date.now()
let longest = 0
const probe = setInterval(() => {
  const now = Date.now()
  longest = Math.max(longest, now - last)
  last = now
}, 500)
probe.unref()

afterAll(() => {
  clearInterval(probe)
  if (longest > 10_000) {
    const file = expect.getState().testPath ?? "this file"
    console.warn(`event loop blocked for ${longest} ms in ${file} (Vitest's worker RPC deadline is 60 s)`)
  }
})

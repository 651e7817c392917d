// Runs in every test worker, for every test file.
//
// Vitest's workers report progress to its main process over an RPC with a fixed 60 s
// deadline that no option changes; a worker whose event loop is blocked longer than that
// (synchronous work: a child process run with execFileSync, a long synchronous loop)
// fails the whole run with "Timeout calling onTaskUpdate" although every test passed.
//
// - Workers run at a lower scheduling priority than Vitest's main process, so a machine
//   busy with other work slows the tests down without starving the process that answers.
// - Each file reports its longest event-loop stall over 10 s, naming the file, so the
//   test that blocks is found from the log instead of guessed.
import { setPriority } from "node:os"
import { afterAll, expect } from "vitest"

try {
  setPriority(10)
} catch {}

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

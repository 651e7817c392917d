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
import * as fc from "effect/FastCheck"
import { afterAll, expect } from "vitest"
import { ciSeed } from "./scripts/seeds.mjs"

// Property seeds (docs/testing.md, "Seeds"): random on a developer's machine, so every
// run explores new inputs; fixed in CI (CI=true), so CI's verdict is a function of the
// commit and a rare-seed generator defect cannot turn a good commit red at random (what
// `Reconcile.drift` did with seed 987756409). DOCKET_SEED=<n> replays one seed anywhere;
// DOCKET_SEED=random explores in CI too. A property's own `seed` parameter wins.
const seedSetting = process.env.DOCKET_SEED
const seed =
  seedSetting !== undefined && seedSetting !== "random"
    ? Number(seedSetting)
    : process.env.CI === "true" && seedSetting === undefined
      ? ciSeed
      : undefined
if (seed !== undefined) {
  if (!Number.isSafeInteger(seed)) throw new Error(`DOCKET_SEED must be an integer or "random", got ${seedSetting}`)
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed })
}

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

// `toStrictEqual` tells class instances apart by comparing `a.constructor === b.constructor`. A document may
// carry an unknown field named `constructor` (Docket keeps it): two equal plain objects whose own
// `constructor` fields are equal but distinct objects then compare unequal, which made round-trip properties
// fail on the seeds where fast-check draws that name. For plain objects with an own `constructor` field, this
// compares their keys and values instead, strictly and with every other tester: the field is data.
const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

expect.addEqualityTesters([
  function ownConstructorField(a, b, testers) {
    if (!isPlainObject(a) || !isPlainObject(b)) return undefined
    if (!Object.hasOwn(a, "constructor") && !Object.hasOwn(b, "constructor")) return undefined
    const keys = Object.keys(a)
    if (keys.length !== Object.keys(b).length) return false
    return keys.every((key) => Object.hasOwn(b, key) && this.equals(a[key], b[key], testers, true))
  },
])

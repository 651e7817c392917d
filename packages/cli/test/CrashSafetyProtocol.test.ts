/**
 * DESIGN invariants 6 and 7 end to end, with real `docket put` processes against
 * the shared local stack and a loopback proxy (support/S3Proxy.ts) in front of the
 * S3 emulator that holds or delays PutObject requests:
 *
 * - a writer SIGKILLed while its S3 put is held, the put then dropped (it never
 *   arrived) or delivered late (it was on the wire): reads and queries never show a
 *   version S3 never had, and show S3's version within 30 s without reconcile;
 * - a writer whose S3 put is slow (3 s) racing a second writer: no version
 *   acknowledged to a caller (exit 0) is lost, and the cache converges to S3;
 * - a put held past its writer's budget and delivered after a second writer's
 *   acknowledged write, through a proxy that enforces S3's conditional writes as
 *   AWS does: refused (412), S3 keeps the acknowledged version. Without
 *   conditional writes that late delivery is the one case the protocol cannot
 *   exclude (docs/write-through.md).
 *
 * The time from the kill until the key reads at S3's version is printed (the
 * "what a crashed writer costs" figure of docs/testing.md).
 */
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "vitest"
import * as CrashHarness from "./support/CrashHarness.js"
import * as Processes from "./support/Processes.js"
import * as S3Proxy from "./support/S3Proxy.js"

const harness = CrashHarness.use(() => Testing.isolated("crash-safety"))
const change = CrashHarness.change
const range = ["--from", "2026-11-01", "--to", "2026-12-01"]
const direct = harness.direct
const viaProxy = harness.viaProxy
const fileOf = harness.fileOf
const put = harness.put
const s3Version = harness.s3Version

/** What `docket get` shows: the version, or undefined when not found. */
const readVersion = async (id: string): Promise<number | undefined> => {
  const got = await Processes.run(harness.binary, ["get", "change", id, "--format", "json"], direct())
  if (got.code !== 0) return undefined
  return (JSON.parse(got.stdout) as { version: number }).version
}

/** The versions `docket query customer CODE` lists for `id`. */
const queriedVersions = async (customer: string, id: string): Promise<Array<number>> => {
  const got = await Processes.run(
    harness.binary,
    ["query", "customer", customer, ...range, "--format", "json", "--limit", "100"],
    direct(),
  )
  expect(got.code, got.stderr).toBe(0)
  return (JSON.parse(got.stdout) as { items: Array<{ id: string; version: number }> }).items
    .filter((i) => i.id === id)
    .map((i) => i.version)
}

/**
 * Polls reads (get, and the query of a customer only `phantom` has) until `get` shows
 * S3's version; every observation on the way must be a version S3 had (`allowed`).
 * Returns how long it took.
 */
const convergeWithoutPhantom = async (
  id: string,
  allowed: ReadonlyArray<number>,
  phantom: { readonly version: number; readonly customer: string },
  since: number,
) => {
  const observed: Array<number> = []
  await Processes.eventually(
    async () => {
      const [got, listed] = await Promise.all([readVersion(id), queriedVersions(phantom.customer, id)])
      if (got !== undefined) observed.push(got)
      for (const v of listed) observed.push(v)
      const truth = await s3Version(id)
      return got !== undefined && got === truth && (truth === phantom.version) === listed.includes(truth)
        ? true
        : undefined
    },
    30_000,
    250,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}; observed ${JSON.stringify(observed)}, S3 holds ${allowed.at(-1)}`)
  })
  for (const v of observed) expect(allowed, `a read showed v${v}, a version S3 never had`).toContain(v)
  return Date.now() - since
}

describe("crash safety (protocol) end to end", () => {
  it("invariant 6: a writer SIGKILLed while its S3 put is held leaves no phantom; reads show S3's version within 30 s", async () => {
    const timings: Record<string, number> = {}
    // The held put never arrives (S3 keeps v1), and the held put arrives after the writer died (S3 has v2).
    for (const delivered of [false, true]) {
      const id = delivered ? "CHG-E2E-KILL-LANDED" : "CHG-E2E-KILL-LOST"
      expect((await Processes.run(harness.binary, ["put", fileOf(change(id, 1, ["acme"]))], direct())).code).toBe(0)
      harness.proxy.rule(`changes/${id}.json`, { _tag: "Hold" })
      // v2 adds a customer, so a phantom v2 would also show in that customer's query.
      const writer = put(change(id, 2, ["acme", "initech"]), viaProxy())
      const held = await Promise.race([
        harness.proxy.held(`changes/${id}.json`),
        writer.done.then((r) => {
          throw new Error(`the writer ended before its put was held: ${r.code} ${r.stderr}`)
        }),
      ])
      writer.child.kill("SIGKILL")
      const killed = Date.now()
      expect((await writer.done).signal).toBe("SIGKILL")
      if (delivered) expect(await held.release()).toBe(200)
      else held.drop()
      const truth = delivered ? 2 : 1
      expect(await s3Version(id)).toBe(truth)
      timings[delivered ? "putLanded" : "putLost"] = await convergeWithoutPhantom(
        id,
        delivered ? [1, 2] : [1],
        { version: 2, customer: "initech" },
        killed,
      )
      // The next writer is not blocked for good by the dead writer's intent.
      const next = await Processes.run(harness.binary, ["put", fileOf(change(id, 3, ["acme"]))], direct())
      expect(next.code, next.stderr).toBe(0)
      expect(await s3Version(id)).toBe(3)
      expect(await readVersion(id)).toBe(3)
    }
    console.log(`crash-safety: a SIGKILLed writer's key read at S3's version after ${JSON.stringify(timings)} ms`)
  }, 240_000)

  it("invariant 7: a writer racing a slow writer (its put 3 s slow) loses no acknowledged version, and the cache converges to S3", async () => {
    const id = "CHG-E2E-RACE"
    expect((await Processes.run(harness.binary, ["put", fileOf(change(id, 1, ["acme"]))], direct())).code).toBe(0)
    // The slow writer's put reaches S3 3 s late, inside its put budget; the other writer starts meanwhile and
    // waits for the slow writer's intent. On the old write path both exited 0 and S3 ended with v2.
    harness.proxy.rule(`changes/${id}.json`, { _tag: "Delay", ms: 3_000 })
    const slow = put(change(id, 2, ["acme"]), viaProxy())
    await Processes.eventually(
      async () => (harness.proxy.puts().some((k) => k.endsWith(`changes/${id}.json`)) ? true : undefined),
      30_000,
      50,
    )
    const fast = put(change(id, 3, ["acme"]), direct())
    const [a, b] = await Promise.all([slow.done, fast.done])
    const acknowledged = [a.code === 0 ? 2 : undefined, b.code === 0 ? 3 : undefined].filter(
      (v): v is number => v !== undefined,
    )
    // A writer that did not get its version in says so (a conflict), it does not exit 0.
    for (const r of [a, b]) if (r.code !== 0) expect(r.stderr.length).toBeGreaterThan(0)
    expect(acknowledged.length).toBeGreaterThan(0)
    const highest = Math.max(...acknowledged)
    const final = await s3Version(id)
    expect(final, `S3 went back below acknowledged v${highest}`).toBeGreaterThanOrEqual(highest)
    const started = Date.now()
    await Processes.eventually(async () => ((await readVersion(id)) === final ? true : undefined), 30_000, 250)
    console.log(
      `crash-safety race (slow put): exits ${a.code}/${b.code}, acknowledged ${JSON.stringify(acknowledged)}, S3 ended at v${final}, cache at S3's version ${Date.now() - started} ms after the race`,
    )
  }, 180_000)

  it("invariant 7 with S3 conditional writes: a put delivered after its writer gave up cannot replace an acknowledged newer version", async () => {
    // A proxy that enforces If-Match / If-None-Match as AWS S3 does (the emulator ignores them); every writer
    // of the key goes through it, so it knows the object's ETag.
    const conditional = await S3Proxy.start(harness.iso.environment.DOCKET_S3_ENDPOINT ?? "", { conditional: true })
    try {
      const env = { ...harness.iso.environment, DOCKET_S3_ENDPOINT: conditional.endpoint }
      const id = "CHG-E2E-LATE"
      expect((await Processes.run(harness.binary, ["put", fileOf(change(id, 1, ["acme"]))], env)).code).toBe(0)
      // The slow writer's put is held past its put budget: the writer gives up, clears its intent and exits
      // non-zero; the other writer then writes v3. Only then does the network deliver the old put.
      conditional.rule(`changes/${id}.json`, { _tag: "Hold" })
      const slow = put(change(id, 2, ["acme"]), env)
      const held = await conditional.held(`changes/${id}.json`)
      const fast = put(change(id, 3, ["acme"]), env)
      const [a, b] = await Promise.all([slow.done, fast.done])
      expect(b.code, b.stderr).toBe(0)
      expect(a.code, "the slow writer's put never got an answer: it must not report success").not.toBe(0)
      expect(a.stderr.length).toBeGreaterThan(0)
      expect(await s3Version(id)).toBe(3)
      // The late put carries If-Match v1's ETag: refused, S3 keeps the acknowledged v3.
      expect(await held.release()).toBe(412)
      expect(await s3Version(id)).toBe(3)
      expect(await readVersion(id)).toBe(3)
    } finally {
      await conditional.close()
    }
  }, 180_000)
})

/**
 * The crash-safety harness itself, with real `docket put` processes against the
 * shared local stack and the loopback proxy (support/S3Proxy.ts) in front of the
 * S3 emulator: the proxy holds a put until released, the writer blocks on it, is
 * killed with SIGKILL, and its held put can still land afterwards.
 *
 * The invariant 6 and 7 scenarios built on this harness are in
 * CrashSafetyProtocol.test.ts; both files set it up through
 * support/CrashHarness.ts.
 */
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "vitest"
import * as CrashHarness from "./support/CrashHarness.js"
import * as Processes from "./support/Processes.js"

const harness = CrashHarness.use(() => Testing.isolated("crash-safety"))
const change = CrashHarness.change
const direct = harness.direct
const viaProxy = harness.viaProxy
const fileOf = harness.fileOf
const put = harness.put
const s3Version = harness.s3Version

describe("crash safety end to end (real docket processes, SIGKILL)", () => {
  it("the proxy holds a docket put's S3 put until released, and a SIGKILLed writer's held put can still land", async () => {
    const id = "CHG-E2E-PROXY"
    expect((await Processes.run(harness.binary, ["put", fileOf(change(id, 1, ["acme"]))], direct())).code).toBe(0)
    harness.proxy.rule(`changes/${id}.json`, { _tag: "Hold" })
    const writer = put(change(id, 2, ["acme"]), viaProxy())
    const held = await Promise.race([
      harness.proxy.held(`changes/${id}.json`),
      writer.done.then((r) => {
        throw new Error(`the writer ended before its put was held: ${r.code} ${r.stderr}`)
      }),
    ])
    expect(held.clientConnected()).toBe(true)
    expect(await s3Version(id)).toBe(1)
    writer.child.kill("SIGKILL")
    expect((await writer.done).signal).toBe("SIGKILL")
    await Processes.eventually(() => (held.clientConnected() ? undefined : true), 10_000, 20)
    expect(await held.release()).toBe(200)
    expect(await s3Version(id)).toBe(2)
  }, 180_000)
})

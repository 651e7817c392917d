/**
 * The crash-safety harness itself, with real `docket put` processes against the
 * shared local stack and the loopback proxy (support/S3Proxy.ts) in front of the
 * S3 emulator: the proxy holds a put until released, the writer blocks on it, is
 * killed with SIGKILL, and its held put can still land afterwards.
 *
 * The invariant 6 and 7 scenarios built on this harness are in
 * CrashSafetyProtocol.test.ts; its setup repeats this file's and belongs in
 * support/ next to Processes and S3Proxy.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Processes from "./support/Processes.js"
import * as S3Proxy from "./support/S3Proxy.js"

let binary: string
let iso: Testing.Isolated
let proxy: S3Proxy.S3Proxy
let s3: S3Client
let scratch: string

beforeAll(async () => {
  binary = await Processes.bundle()
  scratch = mkdtempSync(join(tmpdir(), "docket-crash-safety-"))
  iso = await Testing.isolated("crash-safety")
  proxy = await S3Proxy.start(iso.environment.DOCKET_S3_ENDPOINT ?? "")
  s3 = new S3Client(iso.clientConfig.s3)
}, 180_000)

afterAll(async () => {
  s3?.destroy()
  await proxy?.close()
})

const change = (id: string, version: number, customers: ReadonlyArray<string>) => ({
  kind: "change",
  id,
  version,
  title: `${id} v${version}`,
  customers,
  status: "scheduled",
  schedule: { start: "2026-11-10T10:00:00Z", end: "2026-11-10T11:00:00Z" },
  createdAt: "2026-10-01T00:00:00Z",
  updatedAt: `2026-10-0${version}T00:00:00Z`,
})

const direct = () => iso.environment
const viaProxy = () => ({ ...iso.environment, DOCKET_S3_ENDPOINT: proxy.endpoint })

const fileOf = (doc: ReturnType<typeof change>) => {
  const file = join(scratch, `${doc.id}-v${doc.version}.json`)
  writeFileSync(file, JSON.stringify(doc))
  return file
}

const put = (doc: ReturnType<typeof change>, env: Record<string, string>) =>
  Processes.start(binary, ["put", fileOf(doc)], env)

/** The version S3 holds for a change (undefined when there is no object). */
const s3Version = async (id: string): Promise<number | undefined> => {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: `changes/${id}.json` }))
    return (JSON.parse(await got.Body!.transformToString()) as { version: number }).version
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return undefined
    throw error
  }
}

describe("crash safety end to end (real docket processes, SIGKILL)", () => {
  it("the proxy holds a docket put's S3 put until released, and a SIGKILLed writer's held put can still land", async () => {
    const id = "CHG-E2E-PROXY"
    expect((await Processes.run(binary, ["put", fileOf(change(id, 1, ["acme"]))], direct())).code).toBe(0)
    proxy.rule(`changes/${id}.json`, { _tag: "Hold" })
    const writer = put(change(id, 2, ["acme"]), viaProxy())
    const held = await Promise.race([
      proxy.held(`changes/${id}.json`),
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

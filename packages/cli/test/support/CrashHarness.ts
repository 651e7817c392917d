/**
 * The setup the crash-safety end-to-end files share (CrashSafety.test.ts, the
 * harness itself, and CrashSafetyProtocol.test.ts, the invariant 6 and 7
 * scenarios): the CLI bundle, a scratch directory for document files, the
 * loopback proxy (S3Proxy.ts) in front of the test's bucket, an S3 client that
 * reads the bucket directly, and the helpers built on them.
 *
 * The test file passes its isolated stack (`() => Testing.isolated(label)`):
 * `vitest.files.ts` tells a file that needs the local stack by its own imports.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3"
import type * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll } from "vitest"
import * as Processes from "./Processes.js"
import * as S3Proxy from "./S3Proxy.js"

/** A change document as the tests write it: version `version`, the given customers. */
export const change = (id: string, version: number, customers: ReadonlyArray<string>) => ({
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

/** A document made by {@link change}. */
export type Change = ReturnType<typeof change>

/** What the hooks of {@link use} set up; read its fields inside tests (they are set in `beforeAll`). */
export interface Harness {
  /** The CLI bundle (Processes.bundle). */
  readonly binary: string
  readonly iso: Testing.Isolated
  readonly proxy: S3Proxy.S3Proxy
  /** Reads the bucket directly, not through the proxy. */
  readonly s3: S3Client
  /** A writer's environment that talks to the S3 emulator directly. */
  readonly direct: () => Record<string, string>
  /** A writer's environment whose S3 requests go through the proxy. */
  readonly viaProxy: () => Record<string, string>
  /** Writes `doc` to a file in the scratch directory and returns its path. */
  readonly fileOf: (doc: Change) => string
  /** Starts `docket put` of `doc` (a running process: it can be killed). */
  readonly put: (doc: Change, env: Record<string, string>) => Processes.Running
  /** The version S3 holds for a change (undefined when there is no object). */
  readonly s3Version: (id: string) => Promise<number | undefined>
}

/** Registers the `beforeAll`/`afterAll` hooks of the harness over the stack `isolated` returns. */
export const use = (isolated: () => Promise<Testing.Isolated>): Harness => {
  let binary: string
  let iso: Testing.Isolated
  let proxy: S3Proxy.S3Proxy
  let s3: S3Client
  let scratch: string

  beforeAll(async () => {
    binary = await Processes.bundle()
    scratch = mkdtempSync(join(tmpdir(), "docket-crash-safety-"))
    iso = await isolated()
    proxy = await S3Proxy.start(iso.environment.DOCKET_S3_ENDPOINT ?? "")
    s3 = new S3Client(iso.clientConfig.s3)
  }, 180_000)

  afterAll(async () => {
    s3?.destroy()
    await proxy?.close()
  })

  const fileOf = (doc: Change) => {
    const file = join(scratch, `${doc.id}-v${doc.version}.json`)
    writeFileSync(file, JSON.stringify(doc))
    return file
  }

  return {
    get binary() {
      return binary
    },
    get iso() {
      return iso
    },
    get proxy() {
      return proxy
    },
    get s3() {
      return s3
    },
    direct: () => iso.environment,
    viaProxy: () => ({ ...iso.environment, DOCKET_S3_ENDPOINT: proxy.endpoint }),
    fileOf,
    put: (doc, env) => Processes.start(binary, ["put", fileOf(doc)], env),
    s3Version: async (id) => {
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: `changes/${id}.json` }))
        return (JSON.parse(await got.Body!.transformToString()) as { version: number }).version
      } catch (error) {
        if ((error as { name?: string }).name === "NoSuchKey") return undefined
        throw error
      }
    },
  }
}

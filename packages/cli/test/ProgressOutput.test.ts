/**
 * The one progress renderer as the real `docket` binary prints it against the
 * local stack: `put` of NDJSON, `backfill` and `reconcile` emit JSON lines with
 * total, done, rate and ETA off a terminal (and with `--format json` on one);
 * on a terminal (a pseudo-terminal through util-linux `script`) a bar, erased
 * with an escape sequence only when `NO_COLOR` is unset. `heal` counts the
 * expired intents first, so its progress has a total from its first line.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as Testing from "@docket/local/Testing"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { beforeAll, describe, expect, it } from "vitest"
import * as Processes from "./support/Processes.js"

let binary: string
let env: Record<string, string>
const N = 30
const scratch = mkdtempSync(join(tmpdir(), "docket-progress-"))

const change = (n: number) => ({
  kind: "change",
  id: `CHG-P-${String(n).padStart(5, "0")}`,
  version: 1,
  title: `Change ${n}`,
  customers: ["acme"],
  status: "scheduled",
  schedule: { start: "2026-11-02T10:00:00Z", end: "2026-11-02T11:00:00Z" },
  createdAt: "2026-10-01T00:00:00Z",
  updatedAt: "2026-10-01T00:00:00Z",
})

interface Line {
  readonly label: string
  readonly done: number
  readonly total: number | null
  readonly ratePerSecond: number
  readonly etaMs: number | null
  readonly [field: string]: unknown
}

/** The progress JSON lines of a run's stderr (other lines, such as notes, are left out). */
const progressLines = (stderr: string): Array<Line> =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith('{"progress":'))
    .map((l) => (JSON.parse(l) as { progress: Line }).progress)

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

/** Runs `docket ARGS` on a pseudo-terminal (stdout and stderr both go to it); returns what it printed. */
const onTerminal = (args: ReadonlyArray<string>, extra: Record<string, string>): string => {
  const command = [process.execPath, binary, ...args].map((a) => `'${a}'`).join(" ")
  try {
    return execFileSync("script", ["-qec", command, "/dev/null"], {
      cwd: scratch,
      env: { PATH: process.env.PATH ?? "", HOME: scratch, TERM: "xterm", ...env, ...extra },
      encoding: "utf8",
    })
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? "")
  }
}

beforeAll(async () => {
  binary = await Processes.bundle()
  const iso = await Testing.isolated("cli-progress")
  env = { ...iso.environment }
  const s3 = new S3Client({ ...iso.clientConfig.s3 })
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      s3.send(
        new PutObjectCommand({
          Bucket: iso.bucket,
          Key: `changes/${change(i).id}.json`,
          Body: JSON.stringify(change(i)),
        }),
      ),
    ),
  )
  s3.destroy()
}, 180_000)

describe("progress of long-running commands", () => {
  it("off a terminal: backfill, reconcile and put of NDJSON print JSON lines with total, done, rate and ETA, no escapes", async () => {
    const backfill = await Processes.run(binary, ["backfill"], env)
    expect(backfill.code).toBe(0)
    expect(backfill.stderr).not.toContain("\x1b")
    const b = progressLines(backfill.stderr)
    expect(b.length).toBeGreaterThan(0)
    expect(b.at(-1)).toMatchObject({ label: "backfill", done: N, total: N, written: N, failed: 0, etaMs: 0 })
    expect(b.at(-1)?.checkpoint).toMatch(/^changes\//)
    expect(typeof b.at(-1)?.ratePerSecond).toBe("number")

    const reconcile = await Processes.run(binary, ["reconcile"], env)
    expect(reconcile.code).toBe(0)
    expect(reconcile.stderr).not.toContain("\x1b")
    const r = progressLines(reconcile.stderr)
    // Every S3 key and every cache entry is read once and joined once: 4N entries.
    expect(r.at(-1)).toMatchObject({
      label: "reconcile",
      phase: "comparing",
      done: 4 * N,
      total: 4 * N,
      objects: N,
      cacheEntries: N,
      drift: 0,
      etaMs: 0,
    })
    expect(r.some((l) => l.phase === "reading" && l.total === null)).toBe(true)

    const file = join(scratch, "put.ndjson")
    writeFileSync(file, Array.from({ length: 5 }, (_, i) => JSON.stringify(change(100 + i))).join("\n"))
    const put = await Processes.run(binary, ["put", file], env)
    expect(put.code).toBe(0)
    expect(put.stderr).not.toContain("\x1b")
    expect(progressLines(put.stderr).at(-1)).toMatchObject({ label: "put", done: 5, total: 5, written: 5, etaMs: 0 })
  }, 180_000)

  it("heal counts the expired intents first: every progress line has the total, the last one done = total", async () => {
    // Its own table and bucket: the intents and the document heal rolls forward stay out of the other tests' counts.
    const iso = await Testing.isolated("cli-heal")
    const layer = Docket.layer(
      DocketConfig.make({
        table: iso.table,
        bucket: iso.bucket,
        region: iso.clientConfig.dynamodb.region,
        dynamodbEndpoint: Option.some(iso.clientConfig.dynamodb.endpoint),
        s3Endpoint: Option.some(iso.clientConfig.s3.endpoint),
      }),
      {
        dynamodbClient: { credentials: iso.clientConfig.dynamodb.credentials },
        store: { clientConfig: { credentials: iso.clientConfig.s3.credentials } },
      },
    )
    const abandoned = 3
    // Dead writers' intents for new documents, leases expired a minute ago; the first one's put reached S3.
    await Effect.runPromise(
      Effect.gen(function* () {
        const cache = yield* DocumentCache.DocumentCache
        const store = yield* DocumentStore.DocumentStore
        for (let i = 0; i < abandoned; i++) {
          const document = change(900 + i) as Document.AnyDocument
          yield* cache.intend({
            kind: document.kind,
            id: document.id,
            writer: `dead-${i}`,
            s3Key: store.keyOf(document.kind, document.id),
            leaseExpiresAt: Date.now() - 60_000,
            change: { _tag: "Put", document, etag: DocumentStore.expectedEtag(document) },
          })
          if (i === 0) yield* store.put(document)
        }
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Warning)),
    )
    const healEnv = { ...iso.environment }

    const heal = await Processes.run(binary, ["heal", "--format", "json"], healEnv)
    expect(heal.code).toBe(0)
    expect(heal.stderr).not.toContain("\x1b")
    const lines = progressLines(heal.stderr)
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.every((l) => l.label === "heal" && l.total === abandoned)).toBe(true)
    expect(lines[0]).toMatchObject({ done: 0, total: abandoned })
    expect(lines.at(-1)).toMatchObject({
      done: abandoned,
      total: abandoned,
      rolledForward: 1,
      dropped: abandoned - 1,
      failed: 0,
      etaMs: 0,
    })
    expect(JSON.parse(heal.stdout)).toMatchObject({ found: abandoned, rolledForward: 1, dropped: abandoned - 1 })

    // Nothing is left: a second run counts 0 of 0 and still says so.
    const again = await Processes.run(binary, ["heal", "--format", "json"], healEnv)
    expect(again.code).toBe(0)
    expect(progressLines(again.stderr).at(-1)).toMatchObject({ label: "heal", done: 0, total: 0 })
  }, 180_000)

  it.skipIf(!hasScript)(
    "on a terminal: a bar with done/total and ETA; NO_COLOR redraws it without any escape; --format json keeps JSON lines",
    () => {
      // The bucket holds the N listed documents and the 5 put above.
      const colour = onTerminal(["reconcile"], {})
      expect(colour).toMatch(/reconcile {2}\[#+\] 140\/140 100%/)
      expect(colour).toContain("\x1b[2K")

      const plain = onTerminal(["reconcile"], { NO_COLOR: "1" })
      expect(plain).toMatch(/reconcile {2}\[#+\] 140\/140 100%/)
      expect(plain).toContain("\r")
      expect(plain).not.toContain("\x1b")

      const backfill = onTerminal(["backfill"], { NO_COLOR: "1" })
      expect(backfill).toMatch(/backfill {2}\[#+\] 35\/35 100% .*unchanged 35/)
      expect(backfill).not.toContain("\x1b")

      const json = onTerminal(["reconcile", "--format", "json"], {})
      expect(progressLines(json.replace(/\r/g, "")).at(-1)).toMatchObject({ label: "reconcile", done: 140 })
      expect(json).not.toContain("\x1b")
    },
    180_000,
  )
})

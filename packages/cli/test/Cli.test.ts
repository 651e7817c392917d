/**
 * Runs the real `docket` binary (the esbuild bundle, built once) against the
 * shared local stack: every command, help, completions, each kind of bad input,
 * dry-run, backfill interrupted with SIGINT then resumed, reconcile finding and
 * fixing injected drift, `local start` and `--local`, and the demo.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DeleteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Testing from "@docket/local/Testing"
import { beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const bundle = join(root, "dist", "docket.mjs")
const work = mkdtempSync(join(tmpdir(), "docket-cli-test-"))

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const start = (args: ReadonlyArray<string>, env: Record<string, string>, input?: string) => {
  const child = spawn(process.execPath, [bundle, ...args], {
    cwd: work,
    env: { PATH: process.env.PATH ?? "", HOME: work, DOCKET_LOCAL_STATE: join(work, "none.json"), ...env },
    stdio: ["pipe", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString()
  })
  if (input !== undefined) child.stdin.end(input)
  else child.stdin.end()
  const done = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })))
  return { child, done, output: () => ({ stdout, stderr }) }
}

const docket = (args: ReadonlyArray<string>, env: Record<string, string> = {}, input?: string) =>
  start(args, env, input).done

const change = (n: number, overrides: Record<string, unknown> = {}) => ({
  kind: "change",
  id: `CHG-T-${String(n).padStart(5, "0")}`,
  version: 1,
  title: `Change ${n}`,
  customers: [n % 2 === 0 ? "acme" : "globex"],
  status: n % 3 === 0 ? "approved" : "scheduled",
  schedule: {
    start: new Date(Date.UTC(2026, 10, 1) + n * 3_600_000).toISOString(),
    end: new Date(Date.UTC(2026, 10, 1) + n * 3_600_000 + 3_600_000).toISOString(),
  },
  createdAt: "2026-10-01T00:00:00Z",
  updatedAt: "2026-10-01T00:00:00Z",
  ...overrides,
})

const range = ["--from", "2026-10-01", "--to", "2027-01-01"]

/** Polls `condition` every 200 ms until it holds; fails (instead of hanging) after `timeoutMs`. */
const eventually = async (condition: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/**
 * Waits until `ready()` holds (true) or the process ends first (false): both are events, not times.
 * Checked on each chunk of output and on exit, so nothing is polled.
 */
const untilReadyOrExit = (proc: ReturnType<typeof start>, ready: () => boolean): Promise<boolean> =>
  new Promise<boolean>((resolve) => {
    const check = () => {
      if (ready()) finish(true)
    }
    const finish = (value: boolean) => {
      proc.child.stdout?.off("data", onData)
      proc.child.stderr?.off("data", onData)
      resolve(value)
    }
    // After start's own listeners (registered first), so the output they collect includes this chunk.
    const onData = () => check()
    proc.child.stdout?.on("data", onData)
    proc.child.stderr?.on("data", onData)
    void proc.done.then(() => finish(ready()))
    check()
  })

const queryCount = async (env: Record<string, string>) => {
  const r = await docket(["query", "time", ...range, "--limit", "1000", "--format", "json"], env)
  expect(r.code).toBe(0)
  return (JSON.parse(r.stdout) as { items: Array<unknown> }).items.length
}

// Asynchronously: a worker blocked in a synchronous child process cannot answer Vitest's progress RPC.
beforeAll(
  () =>
    new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [join(root, "scripts", "bundle.mjs")], (error) => (error ? reject(error) : resolve())),
    ),
  120_000,
)

describe("docket binary", () => {
  it("bin/docket.mjs prints --help and --version without loading the CLI, exactly as the CLI prints them", async () => {
    const run = (entry: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [entry, ...args],
          { cwd: work, env: { PATH: process.env.PATH ?? "", HOME: work, ...env } },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        ),
      )
    const bin = join(root, "bin", "docket.mjs")
    for (const args of [["--help"], ["--version"]]) {
      for (const env of [{}, { NO_COLOR: "1" }, { FORCE_COLOR: "1" }, { FORCE_COLOR: "1", NO_COLOR: "1" }]) {
        const [fast, full] = await Promise.all([run(bin, args, env), run(bundle, args, env)])
        expect(fast, `${args.join(" ")} ${JSON.stringify(env)}`).toBe(full)
      }
    }
    // The fast path reads dist/startup.json alone: a copy of the bin beside a startup.json and no CLI bundle
    // (and no scripts/, so no rebuild) prints it; anything but --help/--version needs the bundle.
    const alone = mkdtempSync(join(tmpdir(), "docket-bin-alone-"))
    mkdirSync(join(alone, "bin"))
    mkdirSync(join(alone, "dist"))
    copyFileSync(bin, join(alone, "bin", "docket.mjs"))
    writeFileSync(
      join(alone, "dist", "startup.json"),
      JSON.stringify({ version: "v\n", help: "plain\n", helpColor: "colour\n" }),
    )
    expect(await run(join(alone, "bin", "docket.mjs"), ["--help"], {})).toBe("plain\n")
    expect(await run(join(alone, "bin", "docket.mjs"), ["--help"], { FORCE_COLOR: "1" })).toBe("colour\n")
    expect(await run(join(alone, "bin", "docket.mjs"), ["--version"], {})).toBe("v\n")
    await expect(run(join(alone, "bin", "docket.mjs"), ["get", "change", "x"], {})).rejects.toThrow()
    // Colour only where the CLI's rule allows it; a subcommand's help is the CLI's own.
    expect(await run(bin, ["--help"], { FORCE_COLOR: "1" })).toContain("\x1b[")
    expect(await run(bin, ["--help"], {})).not.toContain("\x1b[")
    expect(await run(bin, ["put", "--help"], {})).toBe(await run(bundle, ["put", "--help"], {}))
  })

  it("explains every command in --help and prints completions", async () => {
    const [help, queryHelp, bash] = await Promise.all([
      docket(["--help"]),
      docket(["query", "customer", "--help"]),
      docket(["--completions", "bash"]),
    ])
    expect(help.code).toBe(0)
    for (const command of [
      "put",
      "get",
      "delete",
      "query time",
      "backfill",
      "reconcile",
      "table create",
      "local start",
      "demo",
    ]) {
      expect(help.stdout).toContain(command)
    }
    expect(queryHelp.code).toBe(0)
    expect(queryHelp.stdout).toContain("--cursor")
    expect(bash.code).toBe(0)
    expect(bash.stdout).toContain("docket")
  }, 60_000)

  it("creates and describes a table", async () => {
    const iso = await Testing.isolated("cli-table")
    const name = `${iso.table}-new`
    const created = await docket(["table", "create", "--table", name, "--format", "json"], iso.environment)
    expect(created.code).toBe(0)
    expect(JSON.parse(created.stdout)).toMatchObject({ table: name, created: true })
    const described = await docket(["table", "describe", "--table", name, "--format", "json"], iso.environment)
    expect(described.code).toBe(0)
    expect(JSON.parse(described.stdout)).toMatchObject({ matchesDefinition: true, ttl: { attribute: "expiresAt" } })
  }, 60_000)

  it("puts, gets, queries, pages and deletes documents; rejects bad input with exit 2 and writes nothing", async () => {
    const { environment: env } = await Testing.isolated("cli-docs")
    const file = join(work, "docs.ndjson")
    writeFileSync(file, [1, 2, 3].map((n) => JSON.stringify(change(n))).join("\n"))
    const bad = join(work, "bad.ndjson")
    writeFileSync(bad, `${JSON.stringify(change(10))}\n{"kind": "change", oops\n`)
    const schema = join(work, "schema.json")
    writeFileSync(schema, JSON.stringify(change(11, { customers: ["ACME"] })))

    const [dry, missing, badJson, badSchema] = await Promise.all([
      docket(["put", file, "--dry-run"], env),
      docket(["put", join(work, "nope.json")], env),
      docket(["put", bad], env),
      docket(["put", "-", "--format", "json"], env, readFileSync(schema, "utf8")),
    ])
    expect(dry.code).toBe(0)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("no such file")
    expect(badJson.code).toBe(2)
    expect(badJson.stderr).toMatch(/bad\.ndjson:2: malformed JSON/)
    expect(badSchema.code).toBe(2)
    expect(JSON.parse(badSchema.stdout).error.message).toContain('"customers".0')
    expect(await queryCount(env)).toBe(0) // dry run and bad input wrote nothing

    const put = await docket(["put", file, "--format", "json"], env)
    expect(put.code).toBe(0)
    expect(JSON.parse(put.stdout).results.map((r: { outcome: string }) => r.outcome)).toEqual([
      "written",
      "written",
      "written",
    ])
    const again = await docket(["put", file, "--format", "ndjson"], env)
    expect(
      again.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).outcome),
    ).toEqual(["unchanged", "unchanged", "unchanged"])

    const [got, page1, customer, status, ndjson, badKind, badStatus, badDate, backwards, badCursor] = await Promise.all(
      [
        docket(["get", "change", "CHG-T-00002", "--metrics", "emf"], env),
        docket(["query", "time", ...range, "--limit", "2", "--format", "json"], env),
        docket(["query", "customer", "acme", ...range, "--format", "json"], env),
        docket(["query", "status", "approved", "--kind", "change", ...range], env),
        docket(["query", "time", ...range, "--format", "ndjson"], env),
        docket(["get", "memo", "X-1"], env),
        docket(["query", "status", "shipped", ...range], env),
        docket(["query", "time", "--from", "2026-02-30", "--to", "2027-01-01"], env),
        docket(["query", "time", "--from", "2027-01-01", "--to", "2026-01-01", "--format", "json"], env),
        docket(["query", "time", ...range, "--cursor", "not-a-cursor", "--format", "json"], env),
      ],
    )
    expect(got.code).toBe(0)
    expect(JSON.parse(got.stdout)).toEqual(change(2))
    expect(got.stderr).toContain('"CloudWatchMetrics"') // EMF goes to stderr, the document alone to stdout
    const first = JSON.parse(page1.stdout)
    expect(Object.keys(first).sort()).toEqual(["complete", "cursor", "items"])
    expect(first.items.map((i: { id: string }) => i.id)).toEqual(["CHG-T-00001", "CHG-T-00002"])
    expect(Object.keys(first.items[0]).sort()).toEqual(
      ["customers", "id", "kind", "status", "time", "title", "version"].sort(),
    )
    expect(typeof first.cursor).toBe("string")
    const page2 = await docket(
      ["query", "time", ...range, "--limit", "2", "--cursor", first.cursor, "--format", "json"],
      env,
    )
    expect(JSON.parse(page2.stdout)).toMatchObject({ items: [{ id: "CHG-T-00003" }], cursor: null, complete: true })
    expect(JSON.parse(customer.stdout).items.map((i: { id: string }) => i.id)).toEqual(["CHG-T-00002"])
    expect(status.code).toBe(0)
    expect(status.stdout).toContain("CHG-T-00003")
    expect(ndjson.stdout.trim().split("\n")).toHaveLength(3)
    for (const r of [badKind, badStatus, badDate, backwards, badCursor]) expect(r.code).toBe(2)
    expect(badKind.stderr).toContain("Unknown kind")
    expect(badStatus.stderr).toContain("Unknown status")
    expect(badDate.stderr).toContain("2026-02-30")
    expect(JSON.parse(backwards.stdout).error.message).toContain("must be before")
    // stdout holds exactly one JSON document even when the failing operation logged a warning.
    expect(JSON.parse(badCursor.stdout).error.tag).toBe("CursorError")

    const deleted = await docket(["delete", "change", "CHG-T-00001"], env)
    expect(deleted.code).toBe(0)
    const gone = await docket(["get", "change", "CHG-T-00001"], env)
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain("not found")
  }, 180_000)

  it("backfill interrupted with SIGINT resumes from its checkpoint: nothing lost, nothing written twice", async () => {
    const iso = await Testing.isolated("cli-backfill")
    const env = iso.environment
    const s3 = new S3Client({ ...iso.clientConfig.s3 })
    const total = 120
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
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
    const dry = await docket(["backfill", "--dry-run", "--format", "json"], env)
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.stdout)).toMatchObject({ listed: total, matched: total, written: total, failed: 0 })
    expect(await queryCount(env)).toBe(0)

    const filtered = await docket(["backfill", "--dry-run", "--customer", "acme", "--format", "json"], env)
    expect(JSON.parse(filtered.stdout)).toMatchObject({ matched: total / 2 })

    // A low rate makes the run long enough to interrupt it part-way.
    const run = start(["backfill", "--rps", "20", "--concurrency", "4", "--format", "json"], env)
    const deadline = Date.now() + 60_000
    while (!/"checkpoint":"changes\//.test(run.output().stderr) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    run.child.kill("SIGINT")
    const first = await run.done
    expect(first.code).toBe(130)
    expect(first.stderr).toContain("--resume")
    const checkpoint = JSON.parse(
      readFileSync(join(work, ".docket", `backfill-${iso.table}-${iso.bucket}.json`), "utf8"),
    )
    expect(checkpoint.startAfter).toMatch(/^changes\//)
    const writtenBefore = await queryCount(env)
    expect(writtenBefore).toBeGreaterThan(0)
    expect(writtenBefore).toBeLessThan(total)

    const resumed = await docket(["backfill", "--resume", "--concurrency", "4", "--format", "json"], env)
    expect(resumed.code).toBe(0)
    const summary = JSON.parse(resumed.stdout)
    expect(summary.failed).toBe(0)
    // Everything after the checkpoint is seen again; what was already written comes back unchanged.
    expect(writtenBefore + summary.written).toBe(total)
    expect(await queryCount(env)).toBe(total)
  }, 180_000)

  it("backfill whose checkpoint file cannot be written stops with exit 1 and says which file", async () => {
    const iso = await Testing.isolated("cli-backfill-checkpoint")
    const s3 = new S3Client({ ...iso.clientConfig.s3 })
    await Promise.all(
      [1, 2, 3].map((n) =>
        s3.send(
          new PutObjectCommand({
            Bucket: iso.bucket,
            Key: `changes/${change(n).id}.json`,
            Body: JSON.stringify(change(n)),
          }),
        ),
      ),
    )
    s3.destroy()
    // A regular file where the checkpoint's directory would be: creating the directory fails.
    const blocker = join(work, "not-a-directory")
    writeFileSync(blocker, "")
    const file = join(blocker, "checkpoint.json")
    const run = await docket(["backfill", "--checkpoint", file, "--format", "json"], iso.environment)
    expect(run.code).toBe(1)
    const { error } = JSON.parse(run.stdout) as { error: { tag: string; message: string } }
    expect(error.tag).toBe("BackfillError")
    expect(error.message).toMatch(/^Saving the checkpoint \(resume after changes\/CHG-T-0000\d\.json\) failed/)
    expect(error.message).toContain(`cannot write the checkpoint file ${file}`)
    expect(run.stderr).not.toMatch(/defect|RuntimeException|at .*\.js:\d+/i)
  }, 120_000)

  it("reconcile finds missing, stale and orphaned entries (exit 3) and --fix repairs them (exit 0)", async () => {
    const iso = await Testing.isolated("cli-reconcile")
    const env = iso.environment
    const file = join(work, "reconcile.ndjson")
    writeFileSync(file, [1, 2, 3, 4].map((n) => JSON.stringify(change(n))).join("\n"))
    expect((await docket(["put", file], env)).code).toBe(0)
    const dynamo = new DynamoDBClient({ ...iso.clientConfig.dynamodb })
    const s3 = new S3Client({ ...iso.clientConfig.s3 })
    // missing: the cache loses a document item; stale: S3 moves on alone; orphaned: S3 loses an object.
    await dynamo.send(
      new DeleteItemCommand({ TableName: iso.table, Key: { pk: { S: "DOC#change#CHG-T-00001" }, sk: { S: "DOC" } } }),
    )
    await s3.send(
      new PutObjectCommand({
        Bucket: iso.bucket,
        Key: "changes/CHG-T-00002.json",
        Body: JSON.stringify(change(2, { version: 2, title: "Changed in S3" })),
      }),
    )
    await s3.send(new DeleteObjectCommand({ Bucket: iso.bucket, Key: "changes/CHG-T-00003.json" }))
    dynamo.destroy()
    s3.destroy()

    const found = await docket(["reconcile", "--format", "json"], env)
    expect(found.code).toBe(3)
    expect(JSON.parse(found.stdout).counts).toMatchObject({ missing: 1, stale: 1, orphaned: 1 })
    const dry = await docket(["reconcile", "--fix", "--dry-run"], env)
    expect(dry.code).toBe(3)
    const fixed = await docket(["reconcile", "--fix", "--format", "json"], env)
    expect(fixed.code).toBe(0)
    expect(JSON.parse(fixed.stdout).fixed).toBe(3)
    const clean = await docket(["reconcile"], env)
    expect(clean.code).toBe(0)
    const got = await docket(["get", "change", "CHG-T-00002", "--format", "json"], env)
    expect(JSON.parse(got.stdout).title).toBe("Changed in S3")
  }, 180_000)

  it("local start records its stack for --local and stops cleanly on SIGTERM; --local without it exits 1", async () => {
    const none = await docket(["query", "time", "--local"])
    expect(none.code).toBe(1)
    expect(none.stderr).toContain("docket local start")
    const badDelivery = await docket(["local", "start", "--delivery", "kinesis"])
    expect(badDelivery.code).toBe(2)

    const state = join(work, "state", "local.json")
    const local = start(["local", "start", "--bucket", "cli-local"], { DOCKET_LOCAL_STATE: state })
    let child: ChildProcess | undefined = local.child
    try {
      // Wait for what the test relies on, never for a fixed time: the state file is written
      // before the export lines are printed, and a loaded machine can be slow at either. The
      // stack bounds its own start (DynamoDB Local's answer, its exit, its port taken: then a
      // new port); if `local start` ends instead, that is the answer, with its output.
      const ready = await untilReadyOrExit(
        local,
        () =>
          existsSync(state) &&
          local.output().stdout.includes("export DOCKET_DYNAMODB_ENDPOINT=") &&
          local.output().stderr.includes("Ctrl-C stops the stack"),
      )
      expect(ready, `local start ended before its stack was up: ${JSON.stringify(local.output())}`).toBe(true)
      // The default delivery is the recommended deployment's: an SQS queue with a dead-letter queue.
      expect(local.output().stderr).toContain("SQS queue cli-local-events")
      const file = join(work, "local.json")
      writeFileSync(file, JSON.stringify(change(7)))
      const env = { DOCKET_LOCAL_STATE: state }
      expect((await docket(["put", file, "--local"], env)).code).toBe(0)
      const got = await docket(["get", "change", "CHG-T-00007", "--local", "--format", "json"], env)
      expect(JSON.parse(got.stdout).id).toBe("CHG-T-00007")
      // An object written behind Docket's back reaches the cache through the queue and the in-process event sync.
      const recorded = JSON.parse(readFileSync(state, "utf8")).environment as Record<string, string>
      const s3 = new S3Client({
        endpoint: recorded.DOCKET_S3_ENDPOINT ?? "",
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "docketlocal", secretAccessKey: "docketlocal" },
      })
      await s3.send(
        new PutObjectCommand({ Bucket: "cli-local", Key: "changes/CHG-T-00008.json", Body: JSON.stringify(change(8)) }),
      )
      s3.destroy()
      // Event sync is asynchronous: poll (bounded) until the cache has it instead of sleeping a second.
      // Each round is a whole CLI process, tens of seconds apart on a loaded machine: the bound is a
      // backstop for a sync that never comes, not a measure of how fast it comes.
      let ids: Array<string> = []
      await eventually(async () => {
        const synced = await docket(["query", "time", ...range, "--local", "--format", "json"], env)
        ids = (JSON.parse(synced.stdout) as { items: Array<{ id: string }> }).items.map((i) => i.id)
        return ids.length >= 2
      }, 120_000)
      expect(ids).toEqual(["CHG-T-00007", "CHG-T-00008"])
      local.child.kill("SIGTERM")
      const ended = await local.done
      child = undefined
      expect(ended.code).toBe(130)
      expect(existsSync(state)).toBe(false)
    } finally {
      child?.kill("SIGKILL")
    }
    // No timeout of its own: the suite's (300 s) backstop, above the stack's own start bound (120 s) plus the sync's.
  })

  it("a command's root span is named after the command, not argv's words, and parents its operations (OTLP)", async () => {
    const bodies: Array<string> = []
    const collector = createServer((req, res) => {
      let body = ""
      req.on("data", (d: Buffer) => {
        body += d.toString()
      })
      req.on("end", () => {
        if (req.url === "/v1/traces") bodies.push(body)
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    const url = await new Promise<string>((resolve) =>
      collector.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(collector.address() as AddressInfo).port}`)),
    )
    try {
      const { environment } = await Testing.isolated("cli-trace")
      const env = { ...environment, OTEL_EXPORTER_OTLP_ENDPOINT: url }
      // Global options before the command: their values ("json") are lowercase words too.
      const put = await docket(["--format", "json", "put", "-"], env, JSON.stringify(change(21)))
      expect(put.code).toBe(0)
      const query = await docket(["--format", "json", "query", "status", "approved", ...range], env)
      expect(query.code).toBe(0)
      interface Span {
        readonly name: string
        readonly spanId: string
        readonly parentSpanId?: string
      }
      const spans = bodies.flatMap((b) =>
        (
          JSON.parse(b) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Span> }> }> }
        ).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
      )
      const roots = spans.filter((s) => !s.parentSpanId)
      expect(roots.map((s) => s.name).sort()).toStrictEqual(["docket put", "docket query status"])
      const putRoot = roots.find((s) => s.name === "docket put")!
      const byId = new Map(spans.map((s) => [s.spanId, s]))
      const rootOf = (span: Span): Span => {
        const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined
        return parent ? rootOf(parent) : span
      }
      const write = spans.find((s) => s.name === "writeThrough.write")
      expect(write).toBeDefined()
      expect(rootOf(write!).spanId).toBe(putRoot.spanId)
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()))
    }
  }, 120_000)

  it("runs the demo end to end on its own stack", async () => {
    const demo = await docket(["demo", "--documents", "60", "--customers", "5"])
    expect(demo.code).toBe(0)
    expect(demo.stdout).toContain("hit rate")
    expect(demo.stdout).toMatch(/event sync +v2/)
    expect(demo.stdout).toMatch(/reconcile +2 drift found, 2 fixed, 0 left/)
    // Its writes show progress through the one renderer: off a terminal JSON lines with the total, no escape.
    const progress = demo.stderr
      .split("\n")
      .filter((l) => l.startsWith('{"progress":{"label":"write"'))
      .map((l) => (JSON.parse(l) as { progress: Record<string, unknown> }).progress)
    expect(progress.at(-1)).toMatchObject({ done: 60, total: 60, written: 60, etaMs: 0 })
    expect(demo.stderr).not.toContain("\x1b")
  }, 180_000)
})

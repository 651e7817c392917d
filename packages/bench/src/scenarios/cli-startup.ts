/**
 * `cli-startup`: the CPU time (user + sys, the whole process) the `docket` binary
 * takes, run the way a user runs it in this repository (`node
 * packages/cli/bin/docket.mjs`, which `npx docket` runs), against a bare
 * `node -e 0` in the same run, interleaved: `--version`, `--help`, and `get`
 * up to its first AWS request. For `get` the endpoints point at a stub in this
 * process that answers every request at once with a non-retryable 400, so the
 * figure is everything the command does before it reaches AWS plus one failed
 * request (an upper bound of "before the first request").
 *
 * CPU time comes from bash's `times` builtin (the children's user and sys time,
 * as the kernel accounts them), not from wall clocks: on a shared machine it is
 * the figure that load disturbs least.
 */
import { execFile } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Harness from "../Harness.js"

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "cli", "bin", "docket.mjs")

/** CPU seconds of one run of `args` (children's user + sys, from bash's `times`). */
const cpuOf = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  new Promise<number>((resolve, reject) => {
    execFile(
      "bash",
      ["-c", '"$@" >/dev/null 2>&1; times', "bash", ...args],
      { env, encoding: "utf8", timeout: 60_000 },
      (error, stdout) => {
        // `times` prints the shell's own times, then its children's: "0m0.210s 0m0.031s".
        const children = stdout.trim().split("\n").at(-1) ?? ""
        const parts = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
        if (error !== null || parts.length !== 2) reject(new Error(`could not time ${args.join(" ")}: ${stdout}`))
        else resolve(Math.round(((parts[0] ?? 0) + (parts[1] ?? 0)) * 1000) / 1000)
      },
    )
  })

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

const summary = (xs: ReadonlyArray<number>) => ({
  median: Math.round(median(xs) * 1000) / 1000,
  min: Math.min(...xs),
  max: Math.max(...xs),
  runs: xs.length,
})

/** A stub AWS endpoint: every request gets an immediate, non-retryable 400. */
const stub = async () => {
  let requests = 0
  const server = createServer((req, res) => {
    requests += 1
    req.resume()
    res.writeHead(400, { "content-type": "application/x-amz-json-1.0", "x-amzn-errortype": "ValidationException" })
    res.end(JSON.stringify({ __type: "com.amazon.coral.validate#ValidationException", message: "cli-startup stub" }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const targets = { version: 0.3, help: 0.3, firstRequest: 0.6 }

const scenario: Harness.Scenario = {
  name: "cli-startup",
  description:
    "CPU seconds of `docket --version`, `docket --help` and `docket get` up to its first AWS request (the repository's bin, which runs the built bundle), against a bare `node -e 0`, interleaved in one run. Targets: --version and --help <= 0.3 s, get <= 0.6 s; ratio = the worse of --version and --help over bare node, <= 7.5 (0.3 s over the ~0.04 s of a bare Node 24 start on this machine).",
  run: async (ctx) => {
    const aws = await stub()
    try {
      // The environment of the shell this runs from (a minimal one is no user's, and on
      // this machine one without SHLVL made even a bare `node -e 0` five times slower).
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        AWS_ACCESS_KEY_ID: "cli-startup",
        AWS_SECRET_ACCESS_KEY: "cli-startup",
        AWS_REGION: "us-east-1",
        DOCKET_TABLE: "cli-startup",
        DOCKET_BUCKET: "cli-startup",
        DOCKET_DYNAMODB_ENDPOINT: aws.endpoint,
        DOCKET_S3_ENDPOINT: aws.endpoint,
        DOCKET_LOCAL_STATE: "/nonexistent/docket-local.json",
      }
      const commands = {
        bare: [process.execPath, "-e", "0"],
        version: [process.execPath, bin, "--version"],
        help: [process.execPath, bin, "--help"],
        firstRequest: [process.execPath, bin, "get", "change", "CHG-2026-000001", "--format", "json"],
      } as const
      // Warm-up: builds the bundle if the source is newer, fills Node's compile cache.
      for (const args of Object.values(commands)) await cpuOf(args, env)
      const runs = ctx.quick ? 3 : 5
      const samples: Record<keyof typeof commands, Array<number>> = {
        bare: [],
        version: [],
        help: [],
        firstRequest: [],
      }
      for (let i = 0; i < runs; i++) {
        for (const [name, args] of Object.entries(commands) as Array<[keyof typeof commands, ReadonlyArray<string>]>) {
          samples[name].push(await cpuOf(args, env))
        }
      }
      const bare = summary(samples.bare)
      const version = summary(samples.version)
      const help = summary(samples.help)
      const firstRequest = summary(samples.firstRequest)
      const worst = Math.max(version.median, help.median)
      const ratio = Harness.ratio(worst, bare.median)
      ctx.log(
        `CPU s median of ${runs}: bare node ${bare.median}, --version ${version.median}, --help ${help.median}, get to first request ${firstRequest.median} (stub saw ${aws.requests()} requests); ratio ${ratio}`,
      )
      return {
        baseline: { command: "node -e 0", node: process.version, cpuSeconds: bare },
        docket: {
          command: "node packages/cli/bin/docket.mjs",
          versionCpuSeconds: version,
          helpCpuSeconds: help,
          getToFirstRequestCpuSeconds: firstRequest,
        },
        ratio,
        target: 7.5,
        direction: "<=",
        criterion: "CPU s, worse of docket --version and --help / bare node -e 0 (medians)",
        checks: [
          { name: "docket --version CPU s", value: version.median, target: targets.version, direction: "<=" },
          { name: "docket --help CPU s", value: help.median, target: targets.help, direction: "<=" },
          {
            name: "docket get to first AWS request CPU s",
            value: firstRequest.median,
            target: targets.firstRequest,
            direction: "<=",
          },
        ],
        notes:
          "The bin runs the esbuild bundle (dist/docket.mjs) with Node's compile cache; commands import the AWS SDK clients, the metrics exporter and the local stack when they run. `get` includes one failed request to a local stub (both clients created, the request signed and sent, the 400 parsed, the error printed).",
      }
    } finally {
      await aws.close()
    }
  },
}

export default scenario

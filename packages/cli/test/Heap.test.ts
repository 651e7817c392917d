/**
 * The heap limit of the bulk commands (bin/heap.mjs): `docket backfill` and
 * `docket reconcile` run again under `--max-old-space-size` unless the user set a
 * limit, with the child's exit code and signals carried through. The binary runs
 * from a copy beside a stand-in `dist/docket.mjs` that reports its flags, so no
 * bundle and no stack are needed.
 */
import { spawn } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Heap from "../bin/heap.mjs"

const root = join(import.meta.dirname, "..")

/** The stand-in CLI: prints its node flags; `wait` interrupts like the CLI (the first SIGINT, then exit 130). */
const standIn = `
const args = process.argv.slice(2)
process.stdout.write(JSON.stringify({ execArgv: process.execArgv, child: process.env.DOCKET_HEAP_CHILD ?? null, pid: process.pid }) + "\\n")
if (args.includes("wait")) {
  let seen = 0
  const on = () => {
    seen += 1
    process.removeListener("SIGINT", on)
    setTimeout(() => { process.stdout.write("interrupted " + seen + "\\n"); process.exit(130) }, 600)
  }
  process.on("SIGINT", on)
  setInterval(() => {}, 1000)
  process.stdout.write("ready\\n")
} else process.exitCode = Number(args.find((a) => /^\\d+$/.test(a)) ?? 0)
`

const dir = mkdtempSync(join(tmpdir(), "docket-heap-"))
mkdirSync(join(dir, "bin"))
mkdirSync(join(dir, "dist"))
copyFileSync(join(root, "bin", "docket.mjs"), join(dir, "bin", "docket.mjs"))
copyFileSync(join(root, "bin", "heap.mjs"), join(dir, "bin", "heap.mjs"))
writeFileSync(join(dir, "dist", "docket.mjs"), standIn)

interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly lines: ReadonlyArray<string>
}

/** Runs the copied binary; `onReady` gets the process once the stand-in says "ready". */
const run = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  options: {
    readonly detached?: boolean
    readonly onReady?: ((pid: number) => void) | undefined
    readonly onFirstLine?: (line: string) => void
  } = {},
) =>
  new Promise<Ran>((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, "bin", "docket.mjs"), ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "inherit"],
      detached: options.detached ?? false,
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => {
      const first = !out.includes("\n")
      out += d.toString()
      if (first && out.includes("\n")) options.onFirstLine?.(out.slice(0, out.indexOf("\n")))
      if (out.includes("ready\n") && options.onReady !== undefined && child.pid !== undefined) {
        const ready = options.onReady
        options = { ...options, onReady: undefined }
        ready(child.pid)
      }
    })
    child.on("error", reject)
    child.on("exit", (code, signal) => resolve({ code, signal, lines: out.trim().split("\n") }))
  })

const flagsOf = (ran: Ran) => (JSON.parse(ran.lines[0] ?? "{}") as { execArgv: Array<string> }).execArgv

describe("the bulk commands' heap limit", () => {
  it("is set for backfill and reconcile only, and never over the user's own limit", () => {
    const env = {}
    expect(Heap.heapFlags(["backfill"], [], env)).toStrictEqual(Heap.bulkFlags)
    expect(Heap.heapFlags(["--local", "reconcile", "--fix"], [], env)).toStrictEqual(Heap.bulkFlags)
    for (const args of [["get", "change", "CHG-1"], ["put", "-"], ["--help"], ["put", "--", "backfill"]]) {
      expect(Heap.heapFlags(args, [], env), args.join(" ")).toBeUndefined()
    }
    expect(Heap.heapFlags(["backfill"], ["--max-old-space-size=512"], env)).toBeUndefined()
    expect(Heap.heapFlags(["backfill"], ["--max_old_space_size=512"], env)).toBeUndefined()
    expect(Heap.heapFlags(["backfill"], ["--max-semi-space-size=32"], env)).toBeUndefined()
    expect(Heap.heapFlags(["backfill"], [], { NODE_OPTIONS: "--enable-source-maps --max-old-space-size=96" })).toBe(
      undefined,
    )
    expect(Heap.heapFlags(["backfill"], [], { NODE_OPTIONS: '"--max-heap-size=300"' })).toBeUndefined()
    expect(Heap.heapFlags(["backfill"], [], { NODE_OPTIONS: "--enable-source-maps" })).toStrictEqual(Heap.bulkFlags)
    expect(Heap.heapFlags(["backfill"], [], { [Heap.childMarker]: "1" })).toBeUndefined()
  })

  it("re-runs a bulk command under the limit with its exit code; other commands run in the process", async () => {
    const bulk = await run(["reconcile", "3"])
    expect(bulk.code).toBe(3)
    expect(flagsOf(bulk)).toStrictEqual(Heap.bulkFlags)
    const own = await run(["backfill", "0"], { NODE_OPTIONS: "--max-old-space-size=200" })
    expect(own.code).toBe(0)
    expect(JSON.parse(own.lines[0] ?? "{}")).toMatchObject({ execArgv: [], child: null })
    const other = await run(["get", "change", "5"])
    expect(other.code).toBe(5)
    expect(JSON.parse(other.lines[0] ?? "{}")).toMatchObject({ execArgv: [], child: null })
  })

  it("forwards a SIGINT sent to the binary once, and a Ctrl-C (the whole group, twice over) counts once", async () => {
    const direct = await run(["backfill", "wait"], {}, { onReady: (pid) => process.kill(pid, "SIGINT") })
    expect(direct).toMatchObject({ code: 130, signal: null })
    expect(direct.lines.at(-1)).toBe("interrupted 1")
    // A terminal's Ctrl-C reaches every process of the foreground group: the child, and the binary, which
    // forwards it, a moment later. The second copy must not kill the child before it finishes (Node's default
    // once the CLI stopped listening). The whole group at once, then the child first and the binary 30 ms later.
    const group = await run(
      ["backfill", "wait"],
      {},
      { detached: true, onReady: (pid) => process.kill(-pid, "SIGINT") },
    )
    expect(group).toMatchObject({ code: 130, signal: null })
    expect(group.lines.at(-1)).toBe("interrupted 1")
    let childPid = 0
    const late = await run(
      ["backfill", "wait"],
      {},
      {
        onReady: (pid) => {
          process.kill(childPid, "SIGINT")
          setTimeout(() => process.kill(pid, "SIGINT"), 30)
        },
        onFirstLine: (line) => {
          childPid = (JSON.parse(line) as { pid: number }).pid
        },
      },
    )
    expect(late).toMatchObject({ code: 130, signal: null })
    expect(late.lines.at(-1)).toBe("interrupted 1")
  })

  it("ends as the child ended when a signal killed it", async () => {
    const killed = await run(["backfill", "wait"], {}, { onReady: (pid) => process.kill(pid, "SIGTERM") })
    expect(killed).toMatchObject({ code: null, signal: "SIGTERM" })
  })
})

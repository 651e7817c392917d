/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time by module (a
 * package in node_modules, a Docket source file, or Node's internals) and by
 * function, the top entries of each, as a Markdown table.
 *
 *   node --import tsx packages/bench/src/profile/summarize.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly hitCount?: number
  readonly children?: ReadonlyArray<number>
  /** Samples by source line (1-based) within the function. */
  readonly positionTicks?: ReadonlyArray<{ readonly line: number; readonly ticks: number }>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Where a frame's code lives: `effect/Schema`, `@aws-sdk/client-dynamodb`, `core/WriteThrough.ts`, `node:internal`, `(gc)`. */
export const moduleOf = (frame: CallFrame): string => {
  const url = frame.url
  if (url === "") return frame.functionName.startsWith("(") ? frame.functionName : "(native)"
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/")
  const nm = url.lastIndexOf("node_modules/")
  if (nm >= 0) {
    const parts = url.slice(nm + "node_modules/".length).split("/")
    const pkg = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? "?")
    if (pkg === "effect") {
      const esm = parts.indexOf("esm")
      return `effect/${parts
        .slice(esm >= 0 ? esm + 1 : -1)
        .join("/")
        .replace(/\.js$/, "")}`
    }
    return pkg
  }
  const own = /(?:^|\/)(core|lambda|local|cli|bench)\/src\/(.+)$/.exec(url)
  if (own !== null) return `${own[1]}/${own[2]}`
  return url.split("/").slice(-2).join("/")
}

export interface Entry {
  readonly name: string
  readonly selfMs: number
  readonly share: number
}

/** Self time per module and per function, largest first. */
export const summarize = (
  profile: Profile,
  /** Where a line of a bundle came from (esbuild's source markers), when the profile is of a bundle. */
  locate?: (url: string, line: number) => string | undefined,
): { totalMs: number; modules: Array<Entry>; functions: Array<Entry> } => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  })
  const modules = new Map<string, number>()
  const functions = new Map<string, number>()
  let total = 0
  for (const [id, ms] of self) {
    const node = byId.get(id)
    if (node === undefined) continue
    total += ms
    if (node.callFrame.functionName === "(idle)" || node.callFrame.functionName === "(program)") continue
    const located = locate?.(node.callFrame.url, node.callFrame.lineNumber)
    const mod = located ?? moduleOf(node.callFrame)
    // In a bundle, one function (a module's top level) spans many sources: split its time by line.
    const ticks = node.positionTicks ?? []
    const allTicks = ticks.reduce((a, t) => a + t.ticks, 0)
    if (located !== undefined && allTicks > 0) {
      for (const t of ticks) {
        const where = locate?.(node.callFrame.url, t.line - 1) ?? mod
        modules.set(where, (modules.get(where) ?? 0) + (ms * t.ticks) / allTicks)
      }
    } else {
      modules.set(mod, (modules.get(mod) ?? 0) + ms)
    }
    const fn = `${node.callFrame.functionName || "(anonymous)"} (${mod}:${node.callFrame.lineNumber + 1})`
    functions.set(fn, (functions.get(fn) ?? 0) + ms)
  }
  const busy = [...modules.values()].reduce((a, b) => a + b, 0)
  const sorted = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, selfMs]) => ({
        name,
        selfMs: Math.round(selfMs * 10) / 10,
        share: Math.round((selfMs / busy) * 1000) / 10,
      }))
  return { totalMs: Math.round(total), modules: sorted(modules), functions: sorted(functions) }
}

const main = () => {
  const [file, topArg] = process.argv.slice(2)
  if (file === undefined) {
    process.stderr.write("usage: summarize.ts FILE.cpuprofile [TOP]\n")
    process.exitCode = 2
    return
  }
  const top = Number(topArg ?? 10)
  const { totalMs, modules, functions } = summarize(JSON.parse(readFileSync(file, "utf8")) as Profile)
  const table = (rows: ReadonlyArray<Entry>) =>
    [
      "| where | self ms | share of busy time |",
      "|---|---|---|",
      ...rows.slice(0, top).map((r) => `| ${r.name} | ${r.selfMs} | ${r.share}% |`),
    ].join("\n")
  process.stdout.write(
    `profile ${file}: ${totalMs} ms sampled\n\nby module:\n${table(modules)}\n\nby function:\n${table(functions)}\n`,
  )
}

if (process.argv[1]?.endsWith("summarize.ts")) main()

#!/usr/bin/env node
// `npm run mutate [-- MODULE...]`: mutation testing of core's invariant modules, one
// module at a time (the machine is shared), each against core's memory-only test files.
// Writes reports/mutation/MODULE/{mutation.json,html/} and reports/mutation/summary.json,
// and prints the kill rate per module (docs/testing.md, "Mutation testing").
//
//   --incremental      reuse the previous run's results for mutants whose code and
//                      covering tests did not change (reports/mutation/MODULE/incremental.json)
//   --since REF        mutate only the lines of each module changed since the git ref REF
//                      (`git diff -U0 REF`); modules without changed lines are skipped.
//                      Reports go to reports/mutation/changed/ (CI runs this: .ci/run)
//   --survivors        mutate only the lines of the module's last survivors (the newest of
//                      reports/mutation/{,lines/,changed/}MODULE/survivors.json), e.g. at full strength after
//                      a quick pass or after new tests; reports go to reports/mutation/recheck/
//   --budget MINUTES   start no further module once MINUTES have passed (CI's time box)
//   --runs F           scale the properties' numRuns by F (0 < F <= 1) for a quick pass;
//                      re-run its survivors without it (vitest.mutate.config.ts)
//   --lines RANGES     mutate only these ranges of the module's files (FILE:FIRST-LAST,
//                      comma-separated; FILE as in the module's list), e.g. a module's most
//                      important functions when a full run would not fit the time there is.
//                      Reports go to reports/mutation/lines/
//   --tests FILES      run these test files (comma-separated) instead of the module's own,
//                      e.g. its fast files first and then only their survivors against all
//                      of them (--survivors), when the module's properties are slow
//   --report NAME      write the reports to reports/mutation/NAME/ instead (two runs of one
//                      module at once, e.g. its files split in two, each with its own reports)
//   --help             this text
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { ciSeed } from "./seeds.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const src = "packages/core/src"

const test = "packages/core/test"

/**
 * The invariant modules (issue #11): name -> the source files mutated together and
 * the memory-only test files that exist to catch their bugs (each mutant runs only
 * the tests among these that cover it).
 */
export const modules = {
  "write-path": {
    mutate: [
      `${src}/WriteThrough.ts`,
      `${src}/internal/writeProtocol.ts`,
      `${src}/internal/write.ts`,
      `${src}/internal/writeSteps.ts`,
      `${src}/Heal.ts`,
      `${src}/internal/resolveIntent.ts`,
    ],
    tests: [
      `${test}/WriteThrough.paths.test.ts`,
      `${test}/WriteThrough.signals.test.ts`,
      `${test}/WriteThrough.test.ts`,
      `${test}/Heal.test.ts`,
      `${test}/DocumentCache.test.ts`,
      `${test}/DeleteRace.test.ts`,
      `${test}/WriteThrough.liveness.test.ts`,
      `${test}/Invariants67.test.ts`,
    ],
  },
  "fallback-reader": {
    mutate: [`${src}/FallbackReader.ts`],
    tests: [
      `${test}/FallbackReader.edges.test.ts`,
      `${test}/FallbackReader.signals.test.ts`,
      `${test}/FallbackReader.test.ts`,
      `${test}/FallbackReader.races.test.ts`,
      `${test}/DeleteRace.test.ts`,
      `${test}/Heal.test.ts`,
    ],
  },
  "event-sync": {
    mutate: [`${src}/S3EventSync.ts`, `${src}/internal/syncRecord.ts`],
    tests: [
      `${test}/S3EventSync.paths.test.ts`,
      `${test}/S3EventSync.edges.test.ts`,
      `${test}/S3EventSync.signals.test.ts`,
      `${test}/S3EventSync.test.ts`,
      `${test}/PutSteps.test.ts`,
    ],
  },
  sequencer: {
    mutate: [`${src}/Sequencer.ts`],
    tests: [`${test}/Sequencer.test.ts`, `${test}/S3Event.test.ts`, `${test}/S3EventSync.test.ts`],
  },
  "query-planning": {
    mutate: [`${src}/internal/query.ts`, `${src}/internal/merge.ts`, `${src}/Query.ts`],
    tests: [
      `${test}/QueryPlan.test.ts`,
      `${test}/MergeSorted.test.ts`,
      `${test}/DocumentCache.test.ts`,
      `${test}/DocumentCache.properties.test.ts`,
      `${test}/Query.test.ts`,
    ],
  },
  "rate-limit": { mutate: [`${src}/RateLimit.ts`], tests: [`${test}/RateLimit.test.ts`] },
  backfill: {
    mutate: [`${src}/Backfill.ts`, `${src}/internal/backfillRun.ts`, `${src}/internal/backfillStep.ts`],
    tests: [
      `${test}/Backfill.paths.test.ts`,
      `${test}/Backfill.edges.test.ts`,
      `${test}/Backfill.test.ts`,
      `${test}/PutSteps.test.ts`,
    ],
  },
  reconcile: {
    mutate: [`${src}/Reconcile.ts`, `${src}/internal/reconcileSteps.ts`],
    tests: [
      `${test}/Reconcile.paths.test.ts`,
      `${test}/Reconcile.edges.test.ts`,
      `${test}/Reconcile.faults.test.ts`,
      `${test}/Reconcile.test.ts`,
      `${test}/Reconcile.drift.test.ts`,
    ],
  },
  // Key decoding: S3Key's encode/decode and S3Event's record parsing (S3 notifications, SQS,
  // SNS, EventBridge) that decodes an event's key (`+`, `%20`, unicode) and locates each record.
  "key-decoding": {
    mutate: [`${src}/S3Key.ts`, `${src}/S3Event.ts`],
    tests: [
      `${test}/S3Key.test.ts`,
      `${test}/S3Event.edges.test.ts`,
      `${test}/S3Event.test.ts`,
      `${test}/S3EventSync.paths.test.ts`,
      `${test}/S3EventSync.signals.test.ts`,
    ],
  },
}

const args = process.argv.slice(2)
const option = (flag) => {
  const i = args.indexOf(flag)
  if (i < 0) return undefined
  const value = args[i + 1]
  if (value === undefined || value.startsWith("--")) {
    console.error(`${flag} needs a value`)
    process.exit(2)
  }
  args.splice(i, 2)
  return value
}
if (args.includes("--help") || args.includes("-h")) {
  const text = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n")
  const usage = text.slice(
    1,
    text.findIndex((l) => l.startsWith("import ")),
  )
  console.log(usage.map((l) => l.replace(/^\/\/ ?/, "")).join("\n"))
  console.log(`modules: ${Object.keys(modules).join(", ")}`)
  process.exit(0)
}
const since = option("--since")
const lines = option("--lines")
const testsOption = option("--tests")
const reportOption = option("--report")
if (reportOption !== undefined && !/^[\w.-]+$/.test(reportOption)) {
  console.error(`--report: "${reportOption}" is not a plain directory name`)
  process.exit(2)
}
const budgetOption = option("--budget")
const budgetMinutes = budgetOption === undefined ? Number.POSITIVE_INFINITY : Number(budgetOption)
if (!(budgetMinutes > 0)) {
  console.error(`--budget must be a positive number of minutes, got ${budgetOption}`)
  process.exit(2)
}
const runs = option("--runs") ?? process.env.DOCKET_MUTATE_RUNS ?? "1"
if (!(Number(runs) > 0 && Number(runs) <= 1)) {
  console.error(`--runs must be in (0, 1], got ${runs}`)
  process.exit(2)
}
const incremental = args.includes("--incremental")
const survivorsOnly = args.includes("--survivors")
if (survivorsOnly && since !== undefined) {
  console.error("--survivors and --since do not go together")
  process.exit(2)
}
const unknownFlag = args.find((a) => a.startsWith("-") && a !== "--incremental" && a !== "--survivors")
if (unknownFlag !== undefined) {
  console.error(`unknown option ${unknownFlag} (npm run mutate -- --help)`)
  process.exit(2)
}
if (lines !== undefined && (since !== undefined || survivorsOnly)) {
  console.error("--lines goes with neither --since nor --survivors")
  process.exit(2)
}
const names = args.filter((a) => !a.startsWith("--"))
const selected = names.length > 0 ? names : Object.keys(modules)
for (const name of selected) {
  if (!(name in modules)) {
    console.error(`unknown module "${name}"; known: ${Object.keys(modules).join(", ")}`)
    process.exit(2)
  }
}

// Every property runs on one seed (vitest.setup.ts), so a mutant's verdict is a function of
// the code and the tests, not of the draw: a re-run, or `--incremental`, gives the same
// result. DOCKET_SEED=<n> picks another seed, DOCKET_SEED=random draws one per property run.
const seed = process.env.DOCKET_SEED ?? String(ciSeed)

/**
 * The lines of `file` added or changed since `ref`, as Stryker `--mutate` ranges
 * (`file:first-last`); empty when the file did not change. A file that did not exist at
 * `ref` is changed everywhere.
 */
const changedRanges = (ref, file) => {
  const diff = execFileSync("git", ["diff", "--no-color", "--unified=0", ref, "--", file], {
    cwd: root,
    encoding: "utf8",
  })
  const ranges = []
  for (const [, start, count] of diff.matchAll(/^@@ -\S+ \+(\d+)(?:,(\d+))? @@/gm)) {
    const n = count === undefined ? 1 : Number(count)
    if (n > 0) ranges.push(`${file}:${start}-${Number(start) + n - 1}`)
  }
  return ranges
}

if (since !== undefined) {
  try {
    execFileSync("git", ["rev-parse", "--verify", "--quiet", `${since}^{commit}`], { cwd: root, stdio: "ignore" })
  } catch {
    console.error(`--since ${since}: not a commit in this checkout`)
    process.exit(2)
  }
}
const reportRoot = join(
  root,
  reportOption !== undefined
    ? `reports/mutation/${reportOption}`
    : since !== undefined
      ? "reports/mutation/changed"
      : survivorsOnly
        ? "reports/mutation/recheck"
        : lines !== undefined
          ? "reports/mutation/lines"
          : "reports/mutation",
)

/** `--lines`' ranges that fall in one of the module's files (each `FILE:FIRST-LAST`). */
const lineRanges = (name) => {
  const ranges = lines.split(",").filter((r) => r !== "")
  for (const range of ranges) {
    if (!/^[^:]+:\d+-\d+$/.test(range)) {
      console.error(`--lines: "${range}" is not FILE:FIRST-LAST`)
      process.exit(2)
    }
  }
  return ranges.filter((r) => modules[name].mutate.includes(r.slice(0, r.lastIndexOf(":"))))
}

/** The lines of the module's last survivors, as Stryker `--mutate` ranges. */
const survivorRanges = (name) => {
  // The newest of the module's last full run, its last --lines run and its last --since run.
  const file =
    [
      join(root, "reports/mutation", name, "survivors.json"),
      join(root, "reports/mutation/lines", name, "survivors.json"),
      join(root, "reports/mutation/changed", name, "survivors.json"),
    ]
      .filter((f) => existsSync(f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0] ??
    join(root, "reports/mutation", name, "survivors.json")
  if (!existsSync(file)) {
    console.error(`${name}: no ${file}; run the module first`)
    process.exit(2)
  }
  const survivors = JSON.parse(readFileSync(file, "utf8"))
  // A mutant spanning lines (a block, an object literal) is only selected by a range that
  // holds all of it: each survivor's range runs to its last line (`endLine`; reports written
  // before it was recorded give the first line only, and miss those mutants).
  return [...new Set(survivors.map((s) => `${s.file}:${s.line}-${s.endLine ?? s.line}`))]
}
const summaryFile = join(reportRoot, "summary.json")
const summary =
  existsSync(summaryFile) && since === undefined && !survivorsOnly ? JSON.parse(readFileSync(summaryFile, "utf8")) : {}

const count = (report) => {
  const c = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0 }
  const survivors = []
  for (const [file, { mutants, source }] of Object.entries(report.files)) {
    const lines = source.split("\n")
    for (const m of mutants) {
      if (m.status === "Killed") c.killed++
      else if (m.status === "Timeout") c.timeout++
      else if (m.status === "Survived" || m.status === "NoCoverage") {
        if (m.status === "Survived") c.survived++
        else c.noCoverage++
        const line = m.location.start.line
        survivors.push({
          file,
          line,
          endLine: m.location.end.line,
          status: m.status,
          mutator: m.mutatorName,
          replacement: m.replacement ?? "",
          code: (lines[line - 1] ?? "").trim(),
        })
      } else if (m.status === "Ignored") c.ignored++
      else c.errors++
    }
  }
  const valid = c.killed + c.timeout + c.survived + c.noCoverage
  return { ...c, valid, killRate: valid === 0 ? null : (c.killed + c.timeout) / valid, survivors }
}

let failed = false
const begun = Date.now()
for (const name of selected) {
  const dir = join(reportRoot, name)
  const started = Date.now()
  const tests = testsOption === undefined ? modules[name].tests : testsOption.split(",").filter((t) => t !== "")
  const mutate =
    since !== undefined
      ? modules[name].mutate.flatMap((f) => changedRanges(since, f))
      : survivorsOnly
        ? survivorRanges(name)
        : lines !== undefined
          ? lineRanges(name)
          : modules[name].mutate
  if (mutate.length === 0) {
    console.log(
      `\n==> ${name}: ${survivorsOnly ? "no survivor" : lines !== undefined ? "no --lines range in its files" : `no line changed since ${since}`}`,
    )
    continue
  }
  if ((started - begun) / 60_000 > budgetMinutes) {
    console.log(
      `\n==> ${name}: skipped, the ${budgetMinutes}-minute budget is spent (run it by hand: npm run mutate -- ${name})`,
    )
    summary[name] = { skipped: "budget", files: mutate }
    continue
  }
  mkdirSync(dir, { recursive: true })
  rmSync(join(dir, "mutation.json"), { force: true })
  console.log(`\n==> mutating ${name}: ${mutate.join(", ")} (tests: ${tests.join(", ")})`)
  const run = spawnSync(
    "npx",
    [
      "stryker",
      "run",
      "stryker.config.mjs",
      "--mutate",
      mutate.join(","),
      "--testFiles",
      tests.join(","),
      ...(incremental ? ["--incremental"] : []),
    ],
    {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, DOCKET_SEED: seed, DOCKET_MUTATE_RUNS: runs, DOCKET_MUTATE_REPORT_DIR: dir },
    },
  )
  if (run.status !== 0) {
    console.error(`stryker failed on ${name} (exit ${run.status})`)
    failed = true
    continue
  }
  if (!existsSync(join(dir, "mutation.json"))) {
    // Stryker found nothing to mutate (a changed range of comments or types only).
    console.log(`${name}: no mutant in ${mutate.join(", ")}`)
    continue
  }
  const report = JSON.parse(readFileSync(join(dir, "mutation.json"), "utf8"))
  const { survivors, ...counts } = count(report)
  summary[name] = {
    files: mutate,
    tests,
    runs: Number(runs),
    ...counts,
    minutes: (Date.now() - started) / 60_000,
    at: new Date().toISOString(),
  }
  writeFileSync(join(dir, "survivors.json"), `${JSON.stringify(survivors, null, 2)}\n`)
}
mkdirSync(reportRoot, { recursive: true })
writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`)

const pct = (x) => (x === null || x === undefined ? "-" : `${(x * 100).toFixed(1)}%`)
console.log("\nmodule            killed timeout survived no-cov  kill rate  minutes")
for (const [name, s] of Object.entries(summary)) {
  if (s.skipped !== undefined) {
    console.log(`${name.padEnd(17)} skipped (${s.skipped})`)
    continue
  }
  console.log(
    `${name.padEnd(17)} ${String(s.killed).padStart(6)} ${String(s.timeout).padStart(7)} ${String(s.survived).padStart(8)} ${String(s.noCoverage).padStart(6)} ${pct(s.killRate).padStart(10)} ${s.minutes.toFixed(1).padStart(8)}`,
  )
}
process.exit(failed ? 1 : 0)

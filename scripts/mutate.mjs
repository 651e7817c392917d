#!/usr/bin/env node
// `npm run mutate [-- MODULE...]`: mutation testing of core's invariant modules, one
// module at a time (the machine is shared), each against core's memory-only test files.
// Writes reports/mutation/MODULE/{mutation.json,html/} and reports/mutation/summary.json,
// and prints the kill rate per module. `--incremental` reuses the previous run's
// results for mutants whose code and covering tests did not change.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

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
    mutate: [`${src}/WriteThrough.ts`, `${src}/internal/write.ts`, `${src}/internal/writeSteps.ts`, `${src}/Heal.ts`],
    tests: [`${test}/WriteThrough.test.ts`, `${test}/Invariants67.test.ts`, `${test}/DeleteRace.test.ts`],
  },
  "fallback-reader": {
    mutate: [`${src}/FallbackReader.ts`],
    tests: [`${test}/FallbackReader.test.ts`, `${test}/FallbackReader.races.test.ts`, `${test}/DeleteRace.test.ts`],
  },
  "event-sync": {
    mutate: [`${src}/S3EventSync.ts`, `${src}/internal/syncRecord.ts`],
    tests: [`${test}/S3EventSync.test.ts`],
  },
  sequencer: { mutate: [`${src}/Sequencer.ts`], tests: [`${test}/S3Event.test.ts`, `${test}/S3EventSync.test.ts`] },
  "query-planning": {
    mutate: [`${src}/internal/query.ts`, `${src}/internal/merge.ts`, `${src}/Query.ts`],
    tests: [`${test}/DocumentCache.test.ts`, `${test}/DocumentCache.properties.test.ts`, `${test}/Query.test.ts`],
  },
  "rate-limit": { mutate: [`${src}/RateLimit.ts`], tests: [`${test}/RateLimit.test.ts`] },
  backfill: { mutate: [`${src}/Backfill.ts`], tests: [`${test}/Backfill.test.ts`] },
  reconcile: { mutate: [`${src}/Reconcile.ts`], tests: [`${test}/Reconcile.test.ts`] },
  "key-decoding": { mutate: [`${src}/S3Key.ts`], tests: [`${test}/S3Key.test.ts`, `${test}/S3Event.test.ts`] },
}

const args = process.argv.slice(2)
const incremental = args.includes("--incremental")
const names = args.filter((a) => !a.startsWith("--"))
const selected = names.length > 0 ? names : Object.keys(modules)
for (const name of selected) {
  if (!(name in modules)) {
    console.error(`unknown module "${name}"; known: ${Object.keys(modules).join(", ")}`)
    process.exit(2)
  }
}

const summaryFile = join(root, "reports/mutation/summary.json")
const summary = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, "utf8")) : {}

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
for (const name of selected) {
  const dir = join(root, "reports/mutation", name)
  mkdirSync(dir, { recursive: true })
  const started = Date.now()
  const { mutate, tests } = modules[name]
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
    { cwd: root, stdio: "inherit", env: { ...process.env, DOCKET_MUTATE_REPORT_DIR: dir } },
  )
  if (run.status !== 0) {
    console.error(`stryker failed on ${name} (exit ${run.status})`)
    failed = true
    continue
  }
  const report = JSON.parse(readFileSync(join(dir, "mutation.json"), "utf8"))
  const { survivors, ...counts } = count(report)
  summary[name] = {
    files: mutate,
    tests,
    ...counts,
    minutes: (Date.now() - started) / 60_000,
    at: new Date().toISOString(),
  }
  writeFileSync(join(dir, "survivors.json"), `${JSON.stringify(survivors, null, 2)}\n`)
}
writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`)

const pct = (x) => (x === null || x === undefined ? "-" : `${(x * 100).toFixed(1)}%`)
console.log("\nmodule            killed timeout survived no-cov  kill rate  minutes")
for (const [name, s] of Object.entries(summary)) {
  console.log(
    `${name.padEnd(17)} ${String(s.killed).padStart(6)} ${String(s.timeout).padStart(7)} ${String(s.survived).padStart(8)} ${String(s.noCoverage).padStart(6)} ${pct(s.killRate).padStart(10)} ${s.minutes.toFixed(1).padStart(8)}`,
  )
}
process.exit(failed ? 1 : 0)

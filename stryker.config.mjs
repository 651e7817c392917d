// Mutation testing of core's invariant modules (docs/testing.md). Run it through
// `npm run mutate` (scripts/mutate.mjs), which mutates one module at a time against
// core's memory-only test files (vitest.mutate.config.ts): no JVM, one worker.
const reportDir = process.env.DOCKET_MUTATE_REPORT_DIR ?? "reports/mutation/all"

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts", related: true },
  plugins: ["@stryker-mutator/vitest-runner"],
  coverageAnalysis: "perTest",
  // One worker by default: the machine is two cores shared by five people.
  concurrency: Number(process.env.DOCKET_MUTATE_CONCURRENCY ?? 1),
  // Property tests under a loaded machine: a mutant that makes a test loop is a
  // timeout (counted as detected). A mutant times out when its tests run longer than
  // 3x their dry-run time plus 20 s: room for a busy machine's honest tests, while a
  // loop (merge.ts's, the rate limiter's) costs 20 s, not the 60 s it cost before.
  timeoutMS: 20_000,
  timeoutFactor: 3,
  dryRunTimeoutMinutes: 30,
  // Static mutants (module-level code: constants, top-level arrow functions) are not
  // activated by this runner setup: in the first key-decoding run all 10 survived, among
  // them \`forDocument\`, \`decodeEventKey\` and \`encodeEventKey\` replaced by
  // \`() => undefined\`, which S3Key.test.ts fails on by hand. Counting them would report
  // a measurement artefact as test gaps, so they are left out (docs/testing.md).
  ignoreStatic: true,
  reporters: ["json", "html", "clear-text", "progress"],
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  htmlReporter: { fileName: `${reportDir}/html/index.html` },
  // A quick pass (scaled numRuns) keeps its own file: its verdicts are not reused for a full run.
  incrementalFile: `${reportDir}/incremental${process.env.DOCKET_MUTATE_RUNS && process.env.DOCKET_MUTATE_RUNS !== "1" ? `-runs-${process.env.DOCKET_MUTATE_RUNS}` : ""}.json`,
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  ignorePatterns: [
    "dist",
    "reports",
    "packages/*/build",
    "packages/bench/results",
    "infra/.terraform",
    ".vitest-results.json",
  ],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  logLevel: "info",
}

#!/usr/bin/env node
/**
 * The consumer test: Docket as an app outside this repository gets it. Packs the
 * four public packages (their dist/ must be built: `npm run release:check` builds
 * first), installs the tarballs into a fresh project in a temporary directory, then
 *
 *   (a) plain `node` imports `@docket/core` (the barrel and deep modules), the other
 *       packages, finds `internal/*` hidden, and runs the README's example app
 *       (examples/use-docket-in-your-app.ts, on the memory layers) as a .ts file
 *       that Node 24 strips the types of;
 *   (b) `tsc --noEmit` (strict, exactOptionalPropertyTypes, NodeNext) typechecks it;
 *   (c) the installed `docket` binary prints its version and help.
 *
 * Also checks that no tarball ships tests, fixtures or benchmarks, and prints each
 * tarball's size. Exit 0 when everything holds, 1 otherwise.
 *
 *   node scripts/consumer-test.mjs [--keep]    (--keep leaves the project for a look)
 */
import { execFileSync } from "node:child_process"
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const repo = join(dirname(fileURLToPath(import.meta.url)), "..")
const packages = ["@docket/core", "@docket/local", "@docket/cli", "@docket/lambda"]
const keep = process.argv.includes("--keep")
const work = mkdtempSync(join(tmpdir(), "docket-consumer-"))
const started = Date.now()

const log = (message) => process.stdout.write(`[consumer] ${message}\n`)
const installed = (name) => JSON.parse(readFileSync(join(repo, "node_modules", name, "package.json"), "utf8")).version
const run = (command, args, options = {}) =>
  execFileSync(command, args, { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options })

const failures = []
const check = (name, ok, detail = "") => {
  log(`${ok ? "ok  " : "FAIL"} ${name}${detail === "" ? "" : `: ${detail}`}`)
  if (!ok) failures.push(name)
}

try {
  log(`node ${process.version} (${process.execPath}); project ${work}`)

  // 1. Pack: the tarballs exactly as `npm publish` would upload them.
  const packed = JSON.parse(
    run("npm", ["pack", "--json", "--pack-destination", work, ...packages.flatMap((p) => ["-w", p])], { cwd: repo }),
  )
  for (const p of packed) {
    const shipped = p.files.map((f) => f.path)
    const unwanted = shipped.filter((f) => /(^|\/)(test|tests|fixtures|bench)\/|\.test\.|tsbuildinfo/.test(f))
    check(
      `${p.name} tarball ${p.filename}`,
      unwanted.length === 0 && shipped.some((f) => f.startsWith("dist/")),
      `${(p.size / 1024).toFixed(1)} KB packed, ${(p.unpackedSize / 1024).toFixed(1)} KB unpacked, ${p.entryCount} files${unwanted.length > 0 ? `; ships ${unwanted.slice(0, 5).join(", ")}` : ""}`,
    )
  }

  // 2. A fresh project that depends on the tarballs (and effect, a peer dependency).
  // amplify-dynamodb-simulator (DynamoDB Local's jar, for @docket/local) depends on the
  // ~250 MB Amplify CLI core it never loads: the same override as this repository's.
  cpSync(join(repo, "vendor", "empty-amplify-cli-core"), join(work, "vendor", "empty-amplify-cli-core"), {
    recursive: true,
  })
  writeFileSync(
    join(work, "package.json"),
    `${JSON.stringify(
      {
        name: "docket-consumer",
        private: true,
        type: "module",
        dependencies: {
          ...Object.fromEntries(packed.map((p) => [p.name, `file:./${p.filename}`])),
          effect: installed("effect"),
        },
        devDependencies: { "@types/node": installed("@types/node"), typescript: installed("typescript") },
        overrides: { "@aws-amplify/amplify-cli-core": "file:./vendor/empty-amplify-cli-core" },
      },
      null,
      2,
    )}\n`,
  )
  const installStarted = Date.now()
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"])
  log(`npm install of the tarballs took ${((Date.now() - installStarted) / 1000).toFixed(1)} s`)

  // (a) plain node: imports, hidden internals, the example app.
  writeFileSync(
    join(work, "imports.mjs"),
    `import * as Core from "@docket/core"
import * as Document from "@docket/core/Document"
import * as DynamoDB from "@docket/core/DocumentCache/DynamoDB"
import * as LocalStack from "@docket/local/LocalStack"
import * as Lambda from "@docket/lambda"
import * as Output from "@docket/cli/Output"
import * as Schema from "effect/Schema"
const change = Schema.decodeUnknownSync(Document.Change)({
  kind: "change", id: "CHG-1", version: 1, title: "t", customers: ["acme"], status: "draft",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T00:00:00Z", updatedAt: "2026-11-01T00:00:00Z",
})
const hidden = await import("@docket/core/internal/write").then(() => "exported", (e) => e.code)
console.log(JSON.stringify({
  barrel: typeof Core.WriteThrough.layer, decoded: change.id, dynamodb: typeof DynamoDB.layer,
  local: typeof LocalStack.layer, lambda: typeof Lambda.EventHandler, cli: typeof Output, hidden,
}))
`,
  )
  const imports = JSON.parse(run(process.execPath, ["imports.mjs"]).trim())
  check(
    "plain node imports every package, barrel and deep modules",
    imports.barrel === "object" && imports.decoded === "CHG-1" && imports.dynamodb === "function",
    JSON.stringify(imports),
  )
  check("internal/* is not exported", imports.hidden === "ERR_PACKAGE_PATH_NOT_EXPORTED", imports.hidden)

  copyFileSync(join(repo, "examples", "use-docket-in-your-app.ts"), join(work, "app.ts"))
  const app = run(process.execPath, ["app.ts"]).trim()
  const result = JSON.parse(app.split("\n").at(-1) ?? "{}")
  check(
    "the README's example app runs on plain node",
    result.written === "Written" && result.readFrom === "cache" && result.acme?.[0] === "CHG-2026-000123",
    app,
  )

  // The README shows this very file.
  const example = readFileSync(join(repo, "examples", "use-docket-in-your-app.ts"), "utf8")
  const readme = readFileSync(join(repo, "README.md"), "utf8")
  check(
    'README\'s "Use Docket in your app" shows the example this test runs',
    readme.includes(`\`\`\`ts\n${example.slice(example.indexOf("*/\n") + 3)}\`\`\``),
  )

  // (b) a strict NodeNext typecheck of the same file, libraries' declarations included.
  writeFileSync(
    join(work, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2023"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          types: ["node"],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          erasableSyntaxOnly: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ["app.ts"],
      },
      null,
      2,
    )}\n`,
  )
  let tsc = ""
  try {
    tsc = run(process.execPath, [join(work, "node_modules", "typescript", "bin", "tsc"), "-p", "."])
    check("tsc --noEmit (strict, exactOptionalPropertyTypes, NodeNext) accepts the app", true)
  } catch (error) {
    tsc = `${error.stdout ?? ""}${error.stderr ?? ""}`
    check("tsc --noEmit (strict, exactOptionalPropertyTypes, NodeNext) accepts the app", false, tsc.slice(0, 4000))
  }

  // (c) the installed binary.
  // The shim's `#!/usr/bin/env node` finds the same Node as this test's first on PATH.
  const bin = join(work, "node_modules", ".bin", "docket")
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` }
  const version = run(bin, ["--version"], { env }).trim()
  check("docket --version", version === installed("@docket/cli"), version)
  const help = run(bin, ["--help"], { env })
  check(
    "docket --help lists the commands",
    ["put", "get", "delete", "query", "backfill", "reconcile", "local"].every((c) => help.includes(c)),
    `${help.split("\n").length} lines`,
  )
} catch (error) {
  check("consumer test ran to the end", false, `${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`)
} finally {
  if (keep) log(`kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}

log(
  `${failures.length === 0 ? "passed" : `FAILED (${failures.join("; ")})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
process.exit(failures.length === 0 ? 0 : 1)

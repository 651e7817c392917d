/**
 * The compile cache shipped in the Lambda zip (scripts/package.mjs): the zip's
 * cache is found and accepted by a fresh Node from a read-only folder (as on
 * Lambda's /var/task), nothing is written there, and a missing, foreign or
 * stale cache is a silent miss: the handler imports all the same.
 *
 * As root (with setpriv) the import runs as Lambda's uid, 993, with the zip
 * exactly as shipped; otherwise as this user, with the cache folder named for
 * it.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { unzipSync } from "fflate"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lambdaUid, lambdaV8Flags, packageHandler, zip } from "../scripts/package.mjs"

const entry = join(import.meta.dirname, "..", "src", "handler.ts")
const work = mkdtempSync(join(tmpdir(), "docket-compile-cache-"))
// Traversable by uid 993 (mkdtemp makes it 0700).
chmodSync(work, 0o755)
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => spawnSync(path, ["--version"]).status === 0)
const asLambda = process.getuid?.() === 0 && setpriv !== undefined
const uid = asLambda ? lambdaUid : (process.getuid?.() ?? 0)
// Root without setpriv writes through read-only permissions: the no-write checks need another user.
const enforced = asLambda || uid !== 0

let packaged: Awaited<ReturnType<typeof packageHandler>>
let archive: Uint8Array

/** Unzips `archive` into a new folder, optionally edits it, and makes it read-only (to uid 993, or to this user). */
const extract = (name: string, edit: (root: string) => void = () => {}) => {
  const root = join(work, name)
  for (const [file, content] of Object.entries(unzipSync(archive))) {
    mkdirSync(dirname(join(root, file)), { recursive: true })
    writeFileSync(join(root, file), content)
  }
  edit(root)
  const readOnly = (path: string) => {
    for (const child of readdirSync(path, { withFileTypes: true })) {
      if (child.isDirectory()) readOnly(join(path, child.name))
      else chmodSync(join(path, child.name), 0o444)
    }
    chmodSync(path, 0o555)
  }
  readOnly(root)
  return root
}

const listing = (root: string) => readdirSync(root, { recursive: true }).map(String).sort()

/** Imports `root/handler.mjs` in a fresh Node with the runtime's V8 flags (unless `flags`), compile cache debugging on. */
const importHandler = (root: string, flags: ReadonlyArray<string> = lambdaV8Flags) => {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_DEBUG_NATIVE: "COMPILE_CACHE" }
  delete env.NODE_OPTIONS
  delete env.NODE_COMPILE_CACHE
  const script = `const m = await import(${JSON.stringify(pathToFileURL(join(root, "handler.mjs")).href)}); process.stdout.write(typeof m.handler)`
  const node = [...flags, "--input-type=module", "-e", script]
  const [command, args] = asLambda
    ? [
        setpriv!,
        ["--reuid", String(lambdaUid), "--regid", String(lambdaUid), "--clear-groups", process.execPath, ...node],
      ]
    : [process.execPath, node]
  const result = spawnSync(command, args, { env, encoding: "utf8", timeout: 60_000 })
  const lines = result.stderr.split("\n")
  return {
    status: result.status,
    handler: result.stdout,
    stderr: result.stderr,
    accepted: lines.filter((line) => line.includes("was accepted")).length,
    rejected: lines.filter((line) => line.includes("was rejected")).length,
  }
}

beforeAll(async () => {
  packaged = await packageHandler({ entry, dir: join(work, "build"), uid })
  archive = zip(Object.fromEntries(packaged.files.map((file) => [file, readFileSync(join(work, "build", file))])))
})

afterAll(() => {
  const writable = (path: string) => {
    chmodSync(path, 0o755)
    for (const child of readdirSync(path, { withFileTypes: true })) {
      if (child.isDirectory()) writable(join(path, child.name))
    }
  }
  writable(work)
  rmSync(work, { recursive: true, force: true })
})

describe("the compile cache in the Lambda zip", () => {
  it("is one folder named for this Node, its architecture, V8's tag under the runtime's flags, and the function's uid", () => {
    const tag = execFileSync(
      process.execPath,
      [...lambdaV8Flags, "-p", "v8.cachedDataVersionTag().toString(16).padStart(8, '0')"],
      { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } },
    ).trim()
    expect(packaged.cache?.folder).toBe(`${process.version}-${process.arch}-${tag}-${uid}`)
    const shipped = Object.keys(unzipSync(archive))
    expect(shipped).toContain("handler.mjs")
    expect(shipped).toContain("bundle.mjs")
    // One entry per module the import loads: the bundle and its static chunks (not handler.mjs, compiled
    // before the cache is on, nor the chunks loaded on demand).
    expect(packaged.cache?.files.length).toBe(packaged.bundled.loadedFiles.length)
    expect(packaged.cache?.files.every((file) => shipped.includes(file))).toBe(true)
  })

  it("is the same bytes when packaged again from the same source (unless a concurrent packaging forced a fresh staging folder)", async () => {
    const again = await packageHandler({ entry, dir: join(work, "again"), uid })
    expect(again.files).toStrictEqual(packaged.files)
    if (packaged.cache?.reproducible && again.cache?.reproducible) {
      for (const file of packaged.files) {
        expect(
          Buffer.compare(readFileSync(join(work, "again", file)), readFileSync(join(work, "build", file))),
          file,
        ).toBe(0)
      }
    }
  })

  it("is accepted from a read-only folder, for every module the import loads, and nothing is written", () => {
    const root = extract("shipped")
    const before = listing(root)
    const run = importHandler(root)
    expect(run.status, run.stderr).toBe(0)
    expect(run.handler).toBe("function")
    expect(run.rejected).toBe(0)
    expect(run.accepted).toBe(packaged.bundled.loadedFiles.length)
    expect(run.accepted).toBeGreaterThan(10)
    if (enforced) expect(listing(root)).toStrictEqual(before)
  })

  it("without the cache folder (read-only, cannot be created) nothing is accepted and the handler imports all the same", () => {
    const root = extract("without", (dir) => rmSync(join(dir, "compile-cache"), { recursive: true }))
    const run = importHandler(root)
    expect(run.status, run.stderr).toBe(0)
    expect(run.handler).toBe("function")
    expect(run.accepted).toBe(0)
    if (enforced) expect(run.stderr).toMatch(/Cannot create cache directory/)
  })

  it("under other V8 flags (another tag) the cache is not found, silently", () => {
    const run = importHandler(extract("foreign"), [])
    expect(run.status, run.stderr).toBe(0)
    expect(run.handler).toBe("function")
    expect(run.accepted).toBe(0)
  })

  it("a bundle changed after the cache was built is compiled afresh, its unchanged chunks still use the cache", () => {
    const root = extract("changed", (dir) => {
      const file = join(dir, "bundle.mjs")
      writeFileSync(file, `${readFileSync(file, "utf8")}\n;`)
    })
    const run = importHandler(root)
    expect(run.status, run.stderr).toBe(0)
    expect(run.handler).toBe("function")
    expect(run.stderr).toMatch(/code (size|hash) mismatch/)
    expect(run.accepted).toBe(packaged.bundled.loadedFiles.length - 1)
  })
})

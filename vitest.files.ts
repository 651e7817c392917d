/**
 * Which test files need the shared local stack (DynamoDB Local JVM + S3 emulator)
 * and which are memory-only. Read by `vitest.config.ts` (the `memory` and `local`
 * projects) and `vitest.mutate.config.ts` (mutation testing runs memory-only files).
 */
import { type Dirent, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const testDirs = [
  "packages/core/test",
  "packages/local/test",
  "packages/cli/test",
  "packages/lambda/test",
  "packages/bench/test",
  "examples/test",
  "infra/test",
]

const testFiles = (root: string, dir: string): Array<string> => {
  let entries: Array<Dirent>
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true })
  } catch {
    return []
  }
  return entries
    .flatMap((e) =>
      e.isDirectory() ? testFiles(root, join(dir, e.name)) : e.name.endsWith(".test.ts") ? [join(dir, e.name)] : [],
    )
    .sort()
}

/**
 * A file needs the stack when it reaches for it (`@docket/local/Testing`,
 * `LocalStack`, the injected endpoints) or runs programs that start their own (the
 * examples). A memory-only file that reached for the stack anyway would fail on
 * `inject`, loudly, instead of silently starting a JVM.
 */
const needsStack = (root: string, file: string): boolean =>
  file.startsWith("examples/") ||
  /@docket\/local\/(Testing|LocalStack)|\/Testing\.js"|\/LocalStack\.js"|docketLocalStack/.test(
    readFileSync(join(root, file), "utf8"),
  )

/** Test files (relative to `root`) split into memory-only and stack-needing. */
export const partition = (root: string): { readonly memory: Array<string>; readonly local: Array<string> } => {
  const all = testDirs.flatMap((dir) => testFiles(root, dir))
  return { memory: all.filter((f) => !needsStack(root, f)), local: all.filter((f) => needsStack(root, f)) }
}

import { execFile } from "node:child_process"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"

const run = promisify(execFile)
const examples = join(dirname(fileURLToPath(import.meta.url)), "..")
const files = readdirSync(examples)
  .filter((f) => f.endsWith(".ts"))
  .sort()

// Every example is documentation that must keep working: run each as a user would.
describe("examples", () => {
  it("there are examples to run", () => {
    expect(files.length).toBeGreaterThanOrEqual(3)
  })
  for (const file of files) {
    it(`${file} runs to completion`, { timeout: 120_000 }, async () => {
      const { stdout, stderr } = await run(
        process.execPath,
        ["--conditions=@docket/source", "--import", "tsx", join(examples, file)],
        {
          cwd: join(examples, ".."),
          timeout: 110_000,
        },
      )
      expect(`${stdout}${stderr}`.length).toBeGreaterThan(0)
    })
  }
})

/**
 * Vitest global setup: starts one local stack for the whole test run and stops
 * it (and its JVM) at the end. Test files reach it through `@docket/local/Testing`.
 *
 * The stack runs in a child process, not in Vitest's main process: the S3 emulator
 * serves every request of every test file, and Vitest's main process must stay free
 * to answer its workers within its fixed 60 s RPC deadline, however loaded the machine.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"
import type * as LocalStack from "./LocalStack.js"

/** How long the stack may take to start (DynamoDB Local's JVM on a loaded machine). */
const startTimeoutMs = 120_000

export default async function setup(project: TestProject) {
  const started = Date.now()
  // From the repository's TypeScript source, the child runs the source through tsx with the
  // workspace's export condition; from a published build, the built module runs as is.
  const fromSource = import.meta.url.endsWith(".ts")
  const entry = fileURLToPath(new URL(`./internal/stackProcess.${fromSource ? "ts" : "js"}`, import.meta.url))
  const child = spawn(
    process.execPath,
    [...(fromSource ? ["--conditions=@docket/source", "--import", "tsx"] : []), entry],
    { stdio: ["pipe", "pipe", "inherit"] },
  )
  const endpoints = await new Promise<LocalStack.Endpoints>((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`the local stack did not start within ${startTimeoutMs} ms`))
    }, startTimeoutMs)
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.indexOf("\n")
      if (line >= 0) {
        clearTimeout(timer)
        try {
          resolve(JSON.parse(out.slice(0, line)) as LocalStack.Endpoints)
        } catch (cause) {
          reject(new Error(`the local stack process wrote an unreadable line: ${out.slice(0, line)}`, { cause }))
        }
      }
    })
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the local stack process exited at start (code ${code}, signal ${signal})`))
    })
  })
  project.provide("docketLocalStack", endpoints)
  if (process.env.DOCKET_TEST_VERBOSE) console.log(`local stack up in ${Date.now() - started} ms`)
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    await exited
    clearTimeout(timer)
  }
}

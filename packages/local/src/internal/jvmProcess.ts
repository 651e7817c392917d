/**
 * The process plumbing of the local stack's DynamoDB Local: a free port, whether
 * `java` is on PATH, and the JVMs this process started, killed (with their
 * process group) at the latest when it exits.
 *
 * @internal
 */
import { type ChildProcess, spawnSync } from "node:child_process"
import { createServer } from "node:net"

/** A port free on 127.0.0.1 now (any process may take it before we bind it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen({ port: 0, host: "127.0.0.1" }, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Whether `java -version` runs. */
export const javaAvailable = (): boolean => {
  const probe = spawnSync("java", ["-version"], { stdio: "ignore" })
  return probe.error === undefined && probe.status === 0
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The JVMs started and not yet stopped. */
export const running = new Set<ChildProcess>()
let exitHookInstalled = false

/** Kills every running JVM when this process exits. */
export const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // The watchdog kills the JVM when our pipe closes; this makes it immediate on a normal exit.
  process.once("exit", () => {
    for (const child of running) killGroup(child)
  })
}

/** Closes our pipe to the child and SIGKILLs its process group. */
export const killGroup = (child: ChildProcess) => {
  try {
    child.stdin?.destroy()
  } catch {}
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, "SIGKILL")
    } catch {}
  }
}

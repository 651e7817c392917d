/**
 * The process plumbing of the local stack's DynamoDB Local: a free port, whether
 * `java` is on PATH, the JVMs this process started, killed (with their
 * process group) at the latest when it exits, and the steps of one JVM's life
 * (`spawnDynamo` under the watchdog, `stopDynamo`, `discardDynamo`) that
 * `LocalStack.startDynamoOn` composes with its probe.
 *
 * @internal
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

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

/**
 * DynamoDB Local's report that its port was taken (Jetty's "Failed to bind"). The JVM
 * does not exit on it: without this, a taken port looked like a JVM that never answers.
 */
export const portTaken = /Failed to bind|java\.net\.BindException|Address already in use/

/** A DynamoDB Local JVM being started: its process, the tail of its stderr, whether it exited. */
export interface Jvm {
  readonly child: ChildProcess
  readonly workDir: string
  /** Resolves when the JVM reports its port taken. */
  readonly taken: Promise<"PortTaken">
  stderr: string
  exited: boolean
}

/**
 * How DynamoDB Local's JVM compiles: `"startup"` (the default) stops at the client
 * compiler (`-XX:TieredStopAtLevel=1`), which starts ~1 s sooner and suits tests, dev
 * and the demo; `"throughput"` keeps the JVM's full tiered compilation (C2), for runs
 * that measure the emulator in steady state (the benchmarks): on this project's 2-core
 * machine it serves a BatchGetItem of 100 keys on ~25% less CPU.
 */
export type Jit = "startup" | "throughput"

/** The `java` arguments of a DynamoDB Local on `port` from the emulator folder `dir`. */
export const javaArgs = (
  dir: string,
  port: number,
  dbPath: string | undefined,
  jit: Jit = "startup",
): Array<string> => [
  `-Djava.library.path=${join(dir, "DynamoDBLocal_lib")}`,
  "-Xshare:auto",
  ...(jit === "startup" ? ["-XX:TieredStopAtLevel=1"] : []),
  "-jar",
  join(dir, "DynamoDBLocal.jar"),
  "-port",
  String(port),
  ...(dbPath !== undefined ? ["-dbPath", dbPath] : ["-inMemory"]),
  "-sharedDb",
  "-disableTelemetry",
]

/**
 * Spawns DynamoDB Local on `port` under the watchdog script at `watchdog`, watching its stderr
 * and exit. The caller resolves the script's path: bundled (the CLI), this module's own URL is
 * the bundle's, not this file's.
 */
export const spawnDynamo = (
  watchdog: string,
  dir: string,
  port: number,
  dbPath: string | undefined,
  jit: Jit = "startup",
): Jvm => {
  const workDir = mkdtempSync(join(tmpdir(), "docket-dynamodb-"))
  const child = spawn("sh", [watchdog, "java", ...javaArgs(dir, port, dbPath, jit)], {
    cwd: workDir,
    detached: true,
    stdio: ["pipe", "ignore", "pipe"],
  })
  running.add(child)
  installExitHook()
  let onTaken: () => void = () => {}
  const jvm: Jvm = {
    child,
    workDir,
    taken: new Promise<"PortTaken">((resolve) => {
      onTaken = () => resolve("PortTaken")
    }),
    stderr: "",
    exited: false,
  }
  child.stderr?.on("data", (chunk: Buffer) => {
    jvm.stderr = (jvm.stderr + chunk.toString()).slice(-4000)
    if (portTaken.test(jvm.stderr)) onTaken()
  })
  child.once("exit", () => {
    jvm.exited = true
    running.delete(child)
  })
  // Keep our end of the pipe out of the event loop's way: the stack must not keep the process alive.
  child.unref()
  ;(child.stdin as unknown as { unref?: () => void } | null)?.unref?.()
  ;(child.stderr as unknown as { unref?: () => void } | null)?.unref?.()
  return jvm
}

/** Kills the JVM and removes its work directory. */
export const discardDynamo = (jvm: Jvm) => {
  killGroup(jvm.child)
  running.delete(jvm.child)
  rmSync(jvm.workDir, { recursive: true, force: true })
}

/** Stops a started JVM: closing the pipe makes the watchdog kill and reap it; the group kill is the backstop. */
export const stopDynamo = async (jvm: Jvm) => {
  if (!jvm.exited) {
    const gone = new Promise<void>((resolve) => jvm.child.once("exit", () => resolve()))
    jvm.child.stdin?.destroy()
    await Promise.race([gone, sleep(3000)])
    if (!jvm.exited) killGroup(jvm.child)
  }
  running.delete(jvm.child)
  rmSync(jvm.workDir, { recursive: true, force: true })
}

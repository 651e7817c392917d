/**
 * The embedded AWS stack (DESIGN section 8): AWS's DynamoDB Local (the jar that
 * ships in `amplify-dynamodb-simulator`) and the `fauxqs` S3 emulator in-process,
 * both on ports chosen at run time. Used by the tests, the demo, the CLI's local
 * mode and the benchmarks.
 *
 * The JVM is started under a small watchdog that kills it when this process's
 * pipe to it closes, so no java process outlives the stack, whatever ends it.
 *
 * @example
 * ```ts
 * import * as LocalStack from "@docket/local/LocalStack"
 * const stack = await LocalStack.start()
 * await stack.createTable("docket")
 * await stack.createBucket("docs")
 * // ... SDK clients with stack.clientConfig.dynamodb / stack.clientConfig.s3
 * await stack.stop()
 * ```
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb"
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import * as TableAdmin from "@docket/core/TableAdmin"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import {
  discardDynamo,
  freePort,
  type Jit,
  type Jvm,
  javaAvailable,
  portTaken,
  sleep,
  spawnDynamo,
  stopDynamo,
} from "./internal/jvmProcess.js"
import * as S3Emulator from "./internal/s3Emulator.js"

/** How DynamoDB Local's JVM compiles: see {@link StartOptions.dynamodbJit}. */
export type DynamodbJit = Jit

/** Static credentials the local endpoints accept. */
export const credentials = { accessKeyId: "docketlocal", secretAccessKey: "docketlocal" } as const

/** The region the local stack reports. */
export const region = "us-east-1"

/** Where the stack listens and how to reach it. */
export interface Endpoints {
  readonly region: string
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }
  /** DynamoDB Local, e.g. `http://127.0.0.1:41234`. It listens on all interfaces (a DynamoDB Local limit). */
  readonly dynamodbEndpoint: string
  /** The S3 emulator, e.g. `http://127.0.0.1:41235`, loopback only. Path-style addressing. */
  readonly s3Endpoint: string
}

/** SDK client configuration for the local endpoints. */
export interface ClientConfig {
  readonly dynamodb: {
    readonly endpoint: string
    readonly region: string
    readonly credentials: Endpoints["credentials"]
  }
  readonly s3: {
    readonly endpoint: string
    readonly region: string
    readonly credentials: Endpoints["credentials"]
    readonly forcePathStyle: true
  }
}

/** A S3 object change the emulator served (for local event notifications). */
export type ObjectChange = S3Emulator.ObjectChange

/** A running stack. */
export interface Stack extends Endpoints {
  readonly clientConfig: ClientConfig
  /** The `DOCKET_*`/`AWS_*` variables that point Docket at this stack. */
  readonly environment: (names: { readonly table: string; readonly bucket: string }) => Record<string, string>
  /** Creates Docket's table (from core's definition) with TTL on; a no-op if it exists. */
  readonly createTable: (name: string) => Promise<void>
  /** Creates a bucket; a no-op if it exists. */
  readonly createBucket: (name: string) => Promise<void>
  /**
   * Calls `listener` after every successful object create or delete the S3
   * emulator serves, from any client. Returns the unsubscribe function.
   */
  readonly onObjectChange: (listener: (change: ObjectChange) => void) => () => void
  /** Stops both servers and the JVM. Idempotent. */
  readonly stop: () => Promise<void>
}

/** The stack could not start. */
export class LocalStackError extends Data.TaggedError("LocalStackError")<{
  readonly reason: "JavaNotFound" | "JarNotFound" | "DynamoDBDidNotStart" | "S3DidNotStart" | "Unknown"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return this.detail
  }
}

/** Options of {@link start}. */
export interface StartOptions {
  /** Keep DynamoDB Local's data in this folder instead of memory. */
  readonly dbPath?: string
  /**
   * How long a live DynamoDB Local may take to answer (default 120 s: its JVM's start on a
   * loaded machine, as the test stack's). A JVM that exits, or finds its port taken, is
   * seen at once, whatever this is.
   */
  readonly startTimeoutMs?: number
  /**
   * Use this running DynamoDB endpoint (e.g. the test run's shared DynamoDB
   * Local) instead of starting a JVM; only the S3 emulator starts in-process.
   * Tests use it to observe the emulator's object changes in their own process.
   */
  readonly dynamodbEndpoint?: string
  /**
   * How DynamoDB Local's JVM compiles (default `"startup"`: the client compiler only,
   * the quicker start for tests and dev); `"throughput"` keeps the full tiered
   * compilation, for measuring in steady state (`npm run bench -- --jit=throughput`).
   */
  readonly dynamodbJit?: DynamodbJit
}

const defaultStartTimeoutMs = 120_000

const require = createRequire(import.meta.url)
/** The JVM's watchdog, beside this module (or the bundle that holds it) in `internal/`. */
const watchdog = join(dirname(fileURLToPath(import.meta.url)), "internal", "watchdog.sh")

/** The folder with DynamoDBLocal.jar and DynamoDBLocal_lib. */
export const emulatorDir = (): string =>
  join(dirname(require.resolve("amplify-dynamodb-simulator/package.json")), "emulator")

/** How many fresh ports {@link startDynamo} tries when DynamoDB Local finds its port taken. */
const bindAttempts = 5

const startDynamo = async (options: StartOptions) => {
  if (!javaAvailable()) {
    throw new LocalStackError({
      reason: "JavaNotFound",
      detail:
        "`java` was not found on PATH. DynamoDB Local needs a Java 17+ runtime: install one (for example `apt-get install openjdk-17-jre-headless`) and try again.",
    })
  }
  let dir: string
  try {
    dir = emulatorDir()
  } catch (cause) {
    throw new LocalStackError({
      reason: "JarNotFound",
      detail:
        "DynamoDB Local was not found: run `npm ci` at the repository root (it ships in amplify-dynamodb-simulator).",
      cause,
    })
  }
  const timeoutMs = options.startTimeoutMs ?? defaultStartTimeoutMs
  const deadline = Date.now() + timeoutMs
  // The port is free when `freePort` returns and taken by DynamoDB Local only once its JVM has
  // started (seconds on a loaded machine); in between, any process may take it (a connection's
  // source port, another listener). DynamoDB Local says so on stderr: start again on another port.
  for (let attempt = 1; ; attempt++) {
    const started = await startDynamoOn(dir, await freePort(), options, deadline, timeoutMs)
    if (started !== "PortTaken") return started
    if (attempt >= bindAttempts) {
      throw new LocalStackError({
        reason: "DynamoDBDidNotStart",
        detail: `DynamoDB Local found its port taken ${bindAttempts} times in a row (another process took each free port before the JVM bound it)`,
      })
    }
  }
}

/** Probes `endpoint` until the JVM answers (`"Up"`), reports its port taken, exits or runs past `deadline`. */
const awaitDynamo = async (
  jvm: Jvm,
  endpoint: string,
  deadline: number,
  timeoutMs: number,
): Promise<"Up" | "PortTaken"> => {
  const client = new DynamoDBClient({ endpoint, region, credentials, maxAttempts: 1 })
  try {
    for (;;) {
      // Checked before and after each probe: a probe that another process's server answered
      // while our JVM failed to bind must not count as ours.
      if (portTaken.test(jvm.stderr)) return "PortTaken"
      if (jvm.exited) {
        throw new LocalStackError({
          reason: "DynamoDBDidNotStart",
          detail: `DynamoDB Local exited at start: ${jvm.stderr.trim()}`,
        })
      }
      try {
        // A probe can hang on whatever took the port (a listener that never answers): the
        // JVM's report ends the wait, not a timer.
        const answer = await Promise.race([
          client.send(new ListTablesCommand({ Limit: 1 })).then(() => "Up"),
          jvm.taken,
        ])
        if (answer === "Up" && !portTaken.test(jvm.stderr)) return "Up"
      } catch (cause) {
        if (Date.now() > deadline) {
          throw new LocalStackError({
            reason: "DynamoDBDidNotStart",
            detail: `DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms. ${jvm.stderr.trim()}`,
            cause,
          })
        }
        await sleep(100)
      }
    }
  } finally {
    client.destroy()
  }
}

/**
 * Starts DynamoDB Local on `port`; `"PortTaken"` when another process took the port first.
 * The steps: `spawnDynamo`, `awaitDynamo`, then `stopDynamo` (or `discardDynamo` on failure).
 */
const startDynamoOn = async (
  dir: string,
  port: number,
  options: StartOptions,
  deadline: number,
  timeoutMs: number,
): Promise<{ readonly endpoint: string; readonly stop: () => Promise<void> } | "PortTaken"> => {
  const jvm = spawnDynamo(watchdog, dir, port, options.dbPath, options.dynamodbJit)
  const endpoint = `http://127.0.0.1:${port}`
  let answer: "Up" | "PortTaken"
  try {
    answer = await awaitDynamo(jvm, endpoint, deadline, timeoutMs)
  } catch (error) {
    discardDynamo(jvm)
    throw error
  }
  if (answer === "PortTaken") {
    discardDynamo(jvm)
    return "PortTaken"
  }
  return { endpoint, stop: () => stopDynamo(jvm) }
}

/** The S3 emulator, its failure to listen reported as `S3DidNotStart`. */
const startS3Emulator = (onChange: (change: ObjectChange) => void) =>
  S3Emulator.start(onChange).catch((cause: unknown) => {
    throw new LocalStackError({
      reason: "S3DidNotStart",
      detail: "The S3 emulator could not listen on 127.0.0.1",
      cause,
    })
  })

/** Starts DynamoDB Local and the S3 emulator. Call `stop()` when done. */
export const start = async (options: StartOptions = {}): Promise<Stack> => {
  const listeners = new Set<(change: ObjectChange) => void>()
  const s3 = await startS3Emulator((change) => {
    for (const listener of listeners) {
      try {
        listener(change)
      } catch {}
    }
  })
  let dynamo: Awaited<ReturnType<typeof startDynamo>>
  try {
    const external = options.dynamodbEndpoint
    dynamo = external !== undefined ? { endpoint: external, stop: () => Promise.resolve() } : await startDynamo(options)
  } catch (error) {
    await s3.stop()
    throw error
  }
  const endpoints: Endpoints = { region, credentials, dynamodbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint }
  const clientConfig = clientConfigOf(endpoints)
  let stopped: Promise<void> | undefined
  return {
    region,
    credentials,
    dynamodbEndpoint: dynamo.endpoint,
    s3Endpoint: s3.endpoint,
    clientConfig,
    environment: (names) => environmentOf(endpoints, names),
    createTable: (name) => createTable(clientConfig, name),
    createBucket: (name) => createBucket(clientConfig, name),
    onObjectChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    stop: () => {
      stopped ??= Promise.all([dynamo.stop(), s3.stop()]).then(() => undefined)
      return stopped
    },
  }
}

/** SDK client configuration for endpoints. */
export const clientConfigOf = (e: Endpoints): ClientConfig => ({
  dynamodb: { endpoint: e.dynamodbEndpoint, region: e.region, credentials: e.credentials },
  s3: { endpoint: e.s3Endpoint, region: e.region, credentials: e.credentials, forcePathStyle: true },
})

/** The `DOCKET_*`/`AWS_*` variables that point a Docket process at a table and bucket behind `e`. */
export const environmentOf = (
  e: Endpoints,
  names: { readonly table: string; readonly bucket: string },
): Record<string, string> => ({
  DOCKET_TABLE: names.table,
  DOCKET_BUCKET: names.bucket,
  AWS_REGION: e.region,
  DOCKET_DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
  DOCKET_S3_ENDPOINT: e.s3Endpoint,
  AWS_ACCESS_KEY_ID: e.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: e.credentials.secretAccessKey,
})

/** A fresh, uniquely named table and bucket on a running stack. */
export interface Isolated {
  readonly table: string
  readonly bucket: string
  readonly clientConfig: ClientConfig
  /** The DOCKET_* / AWS_* variables that point a process at this table and bucket. */
  readonly environment: Record<string, string>
}

/**
 * Creates a table (from core's definition) and a bucket, both named
 * `{prefix}-{label}-{random}`, so tests and benchmarks sharing one stack never
 * see each other's data.
 */
export const isolate = async (e: Endpoints, label: string, prefix = "docket"): Promise<Isolated> => {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 30)
  const name = `${prefix}-${safe}-${randomUUID().slice(0, 8)}`.replace(/-+/g, "-")
  const config = clientConfigOf(e)
  await Promise.all([createTable(config, name), createBucket(config, name)])
  return {
    table: name,
    bucket: name,
    clientConfig: config,
    environment: environmentOf(e, { table: name, bucket: name }),
  }
}

/**
 * Creates Docket's table at an endpoint with core's `TableAdmin.create` (the
 * same Effect `docket table create` runs), with TTL on. No-op if it exists.
 * DynamoDB Local does not support tagging, so the local table has no cost tags.
 */
export const createTable = async (config: ClientConfig, name: string): Promise<void> => {
  const client = new DynamoDBClient({ ...config.dynamodb, maxAttempts: 1 })
  try {
    await Effect.runPromise(Effect.asVoid(TableAdmin.create(client, name)))
  } finally {
    client.destroy()
  }
}

/** Creates a bucket at an endpoint. No-op if it exists. */
export const createBucket = async (config: ClientConfig, name: string): Promise<void> => {
  const client = new S3Client({ ...config.s3, maxAttempts: 3 })
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }))
  } catch (error) {
    const code = (error as { name?: string }).name
    if (code !== "BucketAlreadyOwnedByYou" && code !== "BucketAlreadyExists") throw error
  } finally {
    client.destroy()
  }
}

/** The running stack as a service. */
export class LocalStack extends Context.Tag("@docket/local/LocalStack")<LocalStack, Stack>() {}

/**
 * Starts the stack in a scope and stops it (and the JVM) when the scope
 * closes. A failure that {@link start} did not classify is `Unknown`, with its cause.
 */
export const acquire = (options: StartOptions = {}): Effect.Effect<Stack, LocalStackError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => start(options),
      catch: (cause) =>
        cause instanceof LocalStackError
          ? cause
          : new LocalStackError({
              reason: "Unknown",
              detail: `The local stack did not start: ${String(cause)}`,
              cause,
            }),
    }),
    (stack) => Effect.promise(() => stack.stop()),
  )

/** A scoped layer over {@link acquire}. */
export const layer = (options: StartOptions = {}): Layer.Layer<LocalStack, LocalStackError> =>
  Layer.scoped(LocalStack, acquire(options))

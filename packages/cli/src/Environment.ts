/**
 * How a command's configuration is resolved: a flag overrides the stack
 * recorded by `docket local start` (with `--local`), which overrides the
 * process environment (DESIGN section 10). The result is provided as the
 * {@link Environment} service and reaches Docket through layers (a
 * `ConfigProvider`, the settings, the SDK clients' credentials): the process
 * environment is read, never written.
 *
 * @since 0.1.0
 */

import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Command from "@effect/cli/Command"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { CliError } from "./CliError.js"
import * as GlobalOptions from "./GlobalOptions.js"
import * as LocalState from "./LocalState.js"
import * as Terminal from "./Terminal.js"

/** Static AWS credentials, as the SDK clients take them. */
export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** A command's resolved configuration. */
export interface Resolved {
  readonly globals: GlobalOptions.Globals
  /** Flags, then the local stack's variables, then the process environment. */
  readonly env: Readonly<Record<string, string>>
  /** A `ConfigProvider` over {@link env}: what Docket's `Config`s read. */
  readonly provider: ConfigProvider.ConfigProvider
  readonly settings: DocketConfig.Settings
  /**
   * Credentials named by {@link env} (`AWS_ACCESS_KEY_ID` ...), handed to the
   * SDK clients; `None` leaves the SDK's own provider chain (profiles, roles).
   */
  readonly credentials: Option.Option<Credentials>
  readonly logFormat: "human" | "json"
}

/** The resolved configuration of the running command. */
export class Environment extends Context.Tag("@docket/cli/Environment")<Environment, Resolved>() {}

/** Fails with a readable message when the configuration is incomplete. */
export const settingsFrom = (provider: ConfigProvider.ConfigProvider): Effect.Effect<DocketConfig.Settings, CliError> =>
  Effect.mapError(
    Effect.withConfigProvider(DocketConfig.config, provider),
    (error) =>
      new CliError({
        reason: "BadInput",
        message: `Configuration: ${String(error).replace(/^\(|\)$/g, "")}. Pass the matching flag (e.g. --bucket), set the environment variable, or use --local.`,
        cause: error,
      }),
  )

/** The variables of the stack a running `docket local start` recorded; fails when there is none. */
const localEnvironment = (
  processEnv: Readonly<Record<string, string>>,
): Effect.Effect<Readonly<Record<string, string>>, CliError, FileSystem.FileSystem> =>
  Effect.flatMap(LocalState.read(LocalState.path(processEnv)), (found) =>
    found._tag === "Running"
      ? Effect.succeed(found.state.environment)
      : Effect.fail(
          new CliError({
            reason: "Failure",
            message:
              found._tag === "NoStateFile"
                ? `--local: no local stack is running (no state file at ${found.file}). Start one in another shell with \`docket local start\` (or \`npx docket local start\`), then run this command again.`
                : `--local: the local stack recorded in ${found.file} (pid ${found.pid}) is not running any more. Start it again with \`docket local start\`.`,
          }),
        ),
  )

/** Static credentials named by an environment (`AWS_ACCESS_KEY_ID` ...), if any. */
export const credentialsOf = (env: Readonly<Record<string, string>>): Option.Option<Credentials> =>
  env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined
    ? Option.some({
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        ...(env.AWS_SESSION_TOKEN !== undefined ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      })
    : Option.none()

/** A `ConfigProvider` over an environment map (names as in the process environment). */
export const providerOf = (env: Readonly<Record<string, string>>): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromMap(new Map(Object.entries(env)))

/** The process environment without its unset entries. */
export const processEnvironment = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined))

/**
 * The log format `--log-format` or `DOCKET_LOG_FORMAT` names (`pretty` is
 * `human`); concise human lines on a terminal, JSON lines otherwise.
 */
const logFormatOf = (globals: GlobalOptions.Globals, env: Readonly<Record<string, string>>): "human" | "json" => {
  const named = Option.getOrElse(globals.logFormat, () => env.DOCKET_LOG_FORMAT)
  if (named === "json") return "json"
  if (named === "human" || named === "pretty") return "human"
  return process.stderr.isTTY ? "human" : "json"
}

/**
 * A configuration for settings a command made itself (the demo's and `local
 * start`'s own stack), with that stack's variables as its environment.
 */
export const make = (
  globals: GlobalOptions.Globals,
  env: Readonly<Record<string, string>>,
  settings: DocketConfig.Settings,
): Resolved => ({
  globals,
  env,
  provider: providerOf(env),
  settings,
  credentials: credentialsOf(env),
  logFormat: logFormatOf(globals, env),
})

/**
 * The environment a command reads: flags, then the local stack's variables
 * (with `--local`), then the process environment. Fails when `--local` is given
 * and no stack is running.
 */
export const environmentOf = (
  globals: GlobalOptions.Globals,
): Effect.Effect<Readonly<Record<string, string>>, CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fromProcess = processEnvironment()
    if (fromProcess.DOCKET_LOG_LEVEL === undefined) fromProcess.DOCKET_LOG_LEVEL = "warning"
    const fromLocal = globals.local ? yield* localEnvironment(fromProcess) : {}
    return { ...fromProcess, ...fromLocal, ...GlobalOptions.flagEnvironment(globals) }
  })

/** Resolves `globals` (flags > `--local` > environment) into the command's configuration. */
export const resolve = (globals: GlobalOptions.Globals): Effect.Effect<Resolved, CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const env = yield* environmentOf(globals)
    const provider = providerOf(env)
    const settings = yield* settingsFrom(provider)
    return { globals, env, provider, settings, credentials: credentialsOf(env), logFormat: logFormatOf(globals, env) }
  })

/** {@link Environment} for the running command, from the root command's options. */
export const layer: Layer.Layer<Environment, CliError, Command.Command.Context<"docket"> | FileSystem.FileSystem> =
  Layer.effect(Environment, Effect.flatMap(GlobalOptions.root, resolve))

/**
 * The log level given with @effect/cli's built-in `--log-level` (which takes
 * precedence over `DOCKET_LOG_LEVEL`), if any.
 */
export const logLevelFlag = (argv: ReadonlyArray<string> = process.argv): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (arg === "--log-level") return argv[i + 1]
    if (arg.startsWith("--log-level=")) return arg.slice("--log-level=".length)
  }
  return undefined
}

/**
 * The stderr logger: concise human lines on a terminal, JSON lines otherwise
 * (or as `--log-format` / `DOCKET_LOG_FORMAT` say).
 */
export const loggerLayer = (level: LogLevel.LogLevel, format: "human" | "json"): Layer.Layer<never> => {
  const logger = Terminal.loggerLayer(format)
  // `--log-level` (built into @effect/cli) already set the level around the command.
  return logLevelFlag() !== undefined ? logger : Layer.merge(logger, Logger.minimumLogLevel(level))
}

/** The logger and the `ConfigProvider` of the running command. */
export const layerRuntime: Layer.Layer<never, never, Environment> = Layer.unwrapEffect(
  Effect.map(Environment, (resolved) =>
    Layer.merge(
      loggerLayer(resolved.settings.logLevel, resolved.logFormat),
      Layer.setConfigProvider(resolved.provider),
    ),
  ),
)

/**
 * What each `docket` command does. Every handler resolves the configuration
 * (flags > `--local` state > environment), builds the services, runs, and
 * prints results on stdout; errors carry their exit code (see CliError).
 *
 * @since 0.1.0
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as Backfill from "@docket/core/Backfill"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Heal from "@docket/core/Heal"
import * as Reconcile from "@docket/core/Reconcile"
import * as StoreQuery from "@docket/core/StoreQuery"
import * as Table from "@docket/core/Table"
import * as Tracing from "@docket/core/Tracing"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { CliError } from "./CliError.js"
import * as GlobalOptions from "./GlobalOptions.js"
import * as Input from "./Input.js"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import * as Services from "./Services.js"
import * as Sources from "./Sources.js"
import * as Terminal from "./Terminal.js"

type Globals = GlobalOptions.Globals

/**
 * The stderr logger: concise human lines on a terminal, JSON lines otherwise
 * (or as `--log-format` / `DOCKET_LOG_FORMAT` say; `pretty` is `human`).
 */
export const loggerLayer = (level: LogLevel.LogLevel, format: "pretty" | "human" | "json"): Layer.Layer<never> => {
  const logger = Terminal.loggerLayer(format === "json" ? "json" : "human")
  // `--log-level` (built into @effect/cli) already set the level around the command.
  return GlobalOptions.logLevelFlag() !== undefined ? logger : Layer.merge(logger, Logger.minimumLogLevel(level))
}

/** Resolves the configuration for `globals` (flags > `--local` > environment). */
export const resolve = (globals: Globals) =>
  Effect.gen(function* () {
    const env = yield* GlobalOptions.environment(globals)
    const provider = GlobalOptions.configProvider(env)
    const settings = yield* Effect.withConfigProvider(Services.settingsFrom, provider)
    // The AWS SDK reads credentials from the process environment: pass on those of the local stack (--local).
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
      const value = env[name]
      if (value !== undefined) process.env[name] = value
    }
    const logFormat = Option.getOrElse(globals.logFormat, () =>
      env.DOCKET_LOG_FORMAT === "json" || env.DOCKET_LOG_FORMAT === "pretty" || env.DOCKET_LOG_FORMAT === "human"
        ? env.DOCKET_LOG_FORMAT
        : process.stderr.isTTY
          ? "pretty"
          : "json",
    )
    return { env, provider, settings, logFormat }
  })

// The AWS SDK clients and the metrics exporter are imported by the commands that use
// them, when they run: `docket --help` and commands without AWS never load them.
const dynamodbSdk = Effect.promise(() => import("./DynamoDBSdk.js"))
const metricsExport = Effect.promise(() => import("@docket/core/MetricsExport"))

/** `--metrics emf|cloudwatch`: exports the metrics the command recorded, at its end. */
const exportMetrics = (globals: Globals, settings: DocketConfig.Settings) =>
  Option.match(globals.metrics, {
    onNone: () => Effect.void,
    onSome: (target): Effect.Effect<void> =>
      Effect.flatMap(metricsExport, (MetricsExport) =>
        (target === "emf"
          ? // EMF lines go to stderr: stdout carries the command's results.
            Effect.flatMap(MetricsExport.MetricsExport, (exporter) =>
              exporter.flush((data, timestamp) =>
                Effect.sync(() => {
                  for (const line of MetricsExport.renderEmf(data, timestamp)) process.stderr.write(`${line}\n`)
                }),
              ),
            ).pipe(Effect.asVoid)
          : MetricsExport.publishCloudWatch().pipe(
              Effect.asVoid,
              Effect.provide(
                MetricsExport.layerCloudWatch({
                  region: settings.region,
                }),
              ),
            )
        ).pipe(
          Effect.provide(MetricsExport.layer({ table: settings.table })),
          Effect.catchAll((error) => Output.note(`metrics export failed: ${error.message}`)),
          Effect.asVoid,
        ),
      ),
  })

/** The command words of this process's argv, e.g. `query time`. */
const commandName = (argv: ReadonlyArray<string> = process.argv.slice(2)): string =>
  argv
    .filter((a) => /^[a-z]+$/.test(a))
    .slice(0, 2)
    .join(" ")

/** Runs `body` with the services built from `globals`. */
export const withServices = <A, E>(globals: Globals, body: Effect.Effect<A, E, Services.Services>) =>
  Effect.gen(function* () {
    const { provider, settings, logFormat } = yield* resolve(globals)
    return yield* body.pipe(
      Effect.ensuring(exportMetrics(globals, settings)),
      Effect.provide(Services.layer(settings)),
      // The command is the root span; spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
      Effect.withSpan(`docket ${commandName()}`, { captureStackTrace: false }),
      Effect.provide(Tracing.layerConfig("docket-cli").pipe(Layer.orDie)),
      Effect.provide(loggerLayer(settings.logLevel, logFormat)),
      Effect.withConfigProvider(provider),
    )
  })

const failIfAny = (failed: number, total: number, what: string) =>
  failed > 0
    ? Effect.fail(new CliError({ reason: "Failure", message: `${failed} of ${total} ${what} failed` }))
    : Effect.void

const knownKind = (kinds: DocumentKind.Registry, kind: string) =>
  kinds.get(kind) !== undefined
    ? Effect.void
    : Effect.fail(
        new CliError({
          reason: "BadInput",
          message: `Unknown kind ${JSON.stringify(kind)}: expected one of ${kinds.kinds.map((k) => k.name).join(", ")}`,
        }),
      )

/** `docket put FILE|-` */
export const put = (o: Globals & { readonly file: string; readonly concurrency: number }) =>
  withServices(
    o,
    Effect.gen(function* () {
      const kinds = yield* DocumentKind.DocumentKinds
      const documents = yield* Services.Documents
      const text = yield* Input.readText(o.file)
      const parsed = yield* Input.parseDocuments(text, o.file, kinds)
      const keys = new Set(parsed.map((p) => `${p.document.kind}/${p.document.id}`))
      // Several versions of one document in one input are written in input order.
      const concurrency = keys.size < parsed.length ? 1 : Math.max(1, o.concurrency)
      // NDJSON of several documents: a progress bar (total, rate, ETA) on stderr.
      const progress = parsed.length > 1 ? yield* Progress.make({ label: "put", total: parsed.length }) : undefined
      const results = yield* Effect.forEach(
        parsed,
        (p) =>
          documents.write(p.document).pipe(
            Effect.map((r) => ({
              source: p.source,
              kind: p.document.kind,
              id: p.document.id,
              version: p.document.version,
              outcome: r.outcome,
              key: r.key,
            })),
            Effect.catchAll((error) =>
              Effect.succeed({
                source: p.source,
                kind: p.document.kind,
                id: p.document.id,
                version: p.document.version,
                outcome: "failed",
                error: (error as { message?: string }).message ?? String(error),
              }),
            ),
            Effect.tap((r) => (progress === undefined ? Effect.void : progress.advance(1, { [r.outcome]: 1 }))),
          ),
        { concurrency },
      )
      if (progress !== undefined) yield* progress.finish
      // A rolled-back write did not reach S3: the caller must not take it as written (exit 1).
      const failed = results.filter((r) => r.outcome === "failed" || r.outcome === "rolled-back").length
      if (o.format === "json") {
        yield* Output.line(JSON.stringify({ results, failed, total: results.length }))
      } else if (o.format === "ndjson") {
        for (const r of results) yield* Output.line(JSON.stringify(r))
      } else {
        yield* Output.line(
          Output.table(
            ["OUTCOME", "KIND", "ID", "V", "SOURCE / ERROR"],
            results.map((r) => [r.outcome, r.kind, r.id, String(r.version), "error" in r ? String(r.error) : r.source]),
          ),
        )
      }
      yield* failIfAny(failed, results.length, "documents")
    }),
  )

/** `docket get KIND ID` */
export const get = (o: Globals & { readonly kind: string; readonly id: string }) =>
  withServices(
    o,
    Effect.gen(function* () {
      yield* knownKind(yield* DocumentKind.DocumentKinds, o.kind)
      const documents = yield* Services.Documents
      const found = yield* documents.read(o.kind, o.id)
      if (Option.isNone(found)) {
        return yield* new CliError({ reason: "Failure", message: `${o.kind}/${o.id} not found` })
      }
      yield* Output.line(o.format === "table" ? JSON.stringify(found.value, null, 2) : JSON.stringify(found.value))
    }),
  )

/** `docket delete KIND ID` */
export const del = (o: Globals & { readonly kind: string; readonly id: string }) =>
  withServices(
    o,
    Effect.gen(function* () {
      yield* knownKind(yield* DocumentKind.DocumentKinds, o.kind)
      const documents = yield* Services.Documents
      const result = yield* documents.remove(o.kind, o.id)
      if (o.format === "table") yield* Output.line(`${result.outcome}  ${o.kind}/${o.id}  ${result.key}`)
      else yield* Output.line(JSON.stringify({ kind: o.kind, id: o.id, ...result }))
      if (result.outcome === "rolled-back") yield* failIfAny(1, 1, "deletes")
    }),
  )

/** Options of the query commands. */
export interface QueryOptions extends Globals {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly kind: Option.Option<string>
  readonly limit: number
  readonly cursor: Option.Option<string>
}

/** `docket query time|customer CODE|status STATUS` */
export const query = (target: DocumentCache.QueryTarget, o: QueryOptions) =>
  withServices(
    o,
    Effect.gen(function* () {
      const kinds = yield* DocumentKind.DocumentKinds
      const config = yield* DocketConfig.DocketConfig
      const cache = yield* DocumentCache.DocumentCache
      if (Option.isSome(o.kind)) yield* knownKind(kinds, o.kind.value)
      if (target._tag === "Customer" && !/^[a-z0-9][a-z0-9-]{1,31}$/.test(target.customer)) {
        return yield* new CliError({
          reason: "BadInput",
          message: `Customer code ${JSON.stringify(target.customer)} does not match [a-z0-9][a-z0-9-]{1,31}`,
        })
      }
      if (target._tag === "Status") {
        const candidates = Option.isSome(o.kind) ? [kinds.get(o.kind.value)!] : kinds.kinds
        if (!candidates.some((k) => k.statuses.includes(target.status))) {
          const all = [...new Set(candidates.flatMap((k) => k.statuses))]
          return yield* new CliError({
            reason: "BadInput",
            message: `Unknown status ${JSON.stringify(target.status)}${Option.isSome(o.kind) ? ` for kind ${o.kind.value}` : ""}: expected one of ${all.join(", ")}`,
          })
        }
      }
      if (o.limit < 1 || o.limit > 1000) {
        return yield* new CliError({ reason: "BadInput", message: `--limit ${o.limit} must be between 1 and 1000` })
      }
      const now = Date.now()
      const fromText = Option.getOrElse(o.from, () => new Date(now - config.ttlDays * 86_400_000).toISOString())
      const toText = Option.getOrElse(o.to, () => new Date(now + 365 * 86_400_000).toISOString())
      const from = yield* Input.parseInstant("from", fromText)
      const to = yield* Input.parseInstant("to", toText)
      yield* Input.checkRange(from, to, { from: fromText, to: toText })
      const q = { target, from, to, ...(Option.isSome(o.kind) ? { kind: o.kind.value } : {}) }
      const pageOptions = { limit: o.limit, ...(Option.isSome(o.cursor) ? { cursor: o.cursor.value } : {}) }
      // With the cache off the answer comes from S3 alone: the same items and cursors, slower, and its warning log line says so.
      const page = config.cacheEnabled ? yield* cache.page(q, pageOptions) : yield* StoreQuery.page(q, pageOptions)
      yield* Output.queryPage(o.format, {
        items: page.items,
        cursor: Option.getOrNull(page.cursor),
        complete: page.complete,
      })
    }),
  )

/** Options of `docket backfill`. */
export interface BackfillOptions extends Globals {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly customer: ReadonlyArray<string>
  readonly kind: ReadonlyArray<string>
  readonly concurrency: number
  readonly resume: boolean
  readonly checkpoint: Option.Option<string>
  readonly shard: Option.Option<string>
  readonly manifest: Option.Option<string>
}

interface CheckpointFile {
  readonly table: string
  readonly bucket: string
  readonly prefix: string
  readonly filters: string
  readonly startAfter: string
  readonly updatedAt: string
}

const progressLine = (p: Backfill.Progress) => {
  const done = p.total === undefined ? `${p.processed}/${p.listed}+` : `${p.processed}/${p.total}`
  const bar =
    p.total === undefined || p.total === 0
      ? ""
      : (() => {
          const filled = Math.round((20 * p.processed) / (p.total as number))
          return `[${"#".repeat(filled)}${".".repeat(20 - filled)}] `
        })()
  const eta = p.etaMs === undefined ? "" : `  eta ${Output.ms(p.etaMs)}`
  return `${bar}${done}  written ${p.written}  unchanged ${p.unchanged}  failed ${p.failed}  ${Math.round(p.ratePerSecond)}/s${eta}`
}

/** `docket backfill` */
export const backfill = (o: BackfillOptions) =>
  withServices(
    o,
    Effect.gen(function* () {
      const config = yield* DocketConfig.DocketConfig
      if (o.concurrency < 1 || o.concurrency > 256) {
        return yield* new CliError({ reason: "BadInput", message: `--concurrency ${o.concurrency} must be 1-256` })
      }
      const from = Option.isSome(o.from) ? yield* Input.parseInstant("from", o.from.value) : undefined
      const to = Option.isSome(o.to) ? yield* Input.parseInstant("to", o.to.value) : undefined
      if (from !== undefined && to !== undefined) {
        yield* Input.checkRange(from, to, { from: Option.getOrThrow(o.from), to: Option.getOrThrow(o.to) })
      }
      const shard = Option.isSome(o.shard) ? yield* Backfill.parseShard(o.shard.value) : undefined
      if (Option.isSome(o.manifest) && o.resume) {
        return yield* new CliError({
          reason: "BadInput",
          message:
            "--resume follows the listing's order, which an inventory does not have: run the manifest again (unchanged documents cost one BatchGetItem per 100)",
        })
      }
      const source = yield* Sources.fromManifest(o.manifest)
      const options: Backfill.Options = {
        ...(shard !== undefined ? { shard } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        customers: o.customer,
        kinds: o.kind,
        concurrency: o.concurrency,
        dryRun: config.dryRun,
      }
      const filters = Backfill.describe(options)
      const file = Option.getOrElse(o.checkpoint, () =>
        join(
          ".docket",
          `backfill-${config.table}-${config.bucket}${shard === undefined ? "" : `-shard-${shard.index}-of-${shard.count}`}.json`.replace(
            /[^A-Za-z0-9._-]/g,
            "_",
          ),
        ),
      )
      let startAfter: string | undefined
      if (o.resume) {
        try {
          const saved = JSON.parse(readFileSync(file, "utf8")) as CheckpointFile
          if (saved.table !== config.table || saved.bucket !== config.bucket || saved.prefix !== config.prefix) {
            return yield* new CliError({
              reason: "BadInput",
              message: `--resume: ${file} is a checkpoint of ${saved.table}/${saved.bucket}, not ${config.table}/${config.bucket}`,
            })
          }
          startAfter = saved.startAfter
          yield* Output.note(`resuming after ${startAfter} (checkpoint ${file}, saved ${saved.updatedAt})`)
          if (saved.filters !== filters)
            yield* Output.note(`note: the checkpoint was taken with filters: ${saved.filters}`)
        } catch (error) {
          if (error instanceof CliError) return yield* error
          yield* Output.note(`no checkpoint at ${file}: starting from the beginning`)
        }
      }
      const tty = process.stderr.isTTY === true
      const writeCheckpoint = (key: string) =>
        Effect.sync(() => {
          if (config.dryRun) return
          mkdirSync(dirname(file), { recursive: true })
          const content: CheckpointFile = {
            table: config.table,
            bucket: config.bucket,
            prefix: config.prefix,
            filters,
            startAfter: key,
            updatedAt: new Date().toISOString(),
          }
          writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`)
        })
      const onProgress = (p: Backfill.Progress) =>
        Effect.sync(() => {
          if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p)}`)
          else
            process.stderr.write(
              `${JSON.stringify({ progress: { ...p, checkpoint: Option.getOrNull(p.checkpoint) } })}\n`,
            )
        })
      yield* Output.note(
        `backfill ${config.bucket}/${config.prefix} -> ${config.table}: ${filters}${config.dryRun ? " (dry run)" : ""}`,
      )
      const summary = yield* Backfill.run({
        ...options,
        ...(source !== undefined ? { source } : {}),
        ...(startAfter !== undefined ? { startAfter } : {}),
        onCheckpoint: writeCheckpoint,
        onProgress,
        progressEveryMs: tty ? 200 : 2000,
      }).pipe(
        Effect.onInterrupt(() =>
          Output.note(
            `${tty ? "\n" : ""}interrupted: the checkpoint is in ${file}; run the same command with --resume to continue`,
          ),
        ),
      )
      if (tty) process.stderr.write("\n")
      if (summary.failed === 0 && !config.dryRun) rmSync(file, { force: true })
      const counts = {
        listed: summary.listed,
        matched: summary.matched,
        written: summary.written,
        unchanged: summary.unchanged,
        newerInCache: summary.newerInCache,
        failed: summary.failed,
      }
      if (o.format === "table") {
        yield* Output.line(
          Output.table(
            ["LISTED", "MATCHED", "WRITTEN", "UNCHANGED", "NEWER-IN-CACHE", "FAILED", "TIME"],
            [[...Object.values(counts).map(String), Output.ms(summary.elapsedMs)]],
          ),
        )
        if (config.dryRun) yield* Output.line("dry run: nothing was written (WRITTEN counts what would be)")
        for (const f of summary.failures) yield* Output.note(`failed: ${f.key}: ${f.message}`)
        if (summary.failed > 0)
          yield* Output.note(`the checkpoint stays before the first failure: fix it and run with --resume`)
      } else {
        yield* Output.line(
          JSON.stringify({
            ...counts,
            dryRun: summary.dryRun,
            elapsedMs: summary.elapsedMs,
            checkpoint: Option.getOrNull(summary.checkpoint),
            failures: summary.failures,
          }),
        )
      }
      yield* failIfAny(summary.failed, summary.matched + summary.failed, "documents")
    }),
  )

/** `docket reconcile [--fix]` */
export const reconcile = (
  o: Globals & {
    readonly fix: boolean
    readonly concurrency: number
    readonly segments: number
    readonly manifest: Option.Option<string>
  },
) =>
  withServices(
    o,
    Effect.gen(function* () {
      const config = yield* DocketConfig.DocketConfig
      if (o.segments < 1 || o.segments > 1000) {
        return yield* new CliError({ reason: "BadInput", message: `--segments ${o.segments} must be 1-1000` })
      }
      const source = yield* Sources.fromManifest(o.manifest)
      const report = yield* Reconcile.run({
        fix: o.fix,
        concurrency: o.concurrency,
        segments: o.segments,
        ...(source !== undefined ? { source } : {}),
      })
      if (o.format === "json") {
        yield* Output.line(JSON.stringify(report))
      } else if (o.format === "ndjson") {
        for (const d of report.drift) yield* Output.line(JSON.stringify(d))
      } else {
        yield* Output.line(
          `checked ${report.documents} documents (${report.objects} objects) against ${report.cacheEntries} cache entries (Scan, ${report.segments} segments) in ${Output.ms(report.durationMs)}: ${report.compared} ETags compared, ${report.bodiesRead} bodies read`,
        )
        yield* Output.line(Reconcile.driftTypes.map((t) => `${t} ${report.counts[t]}`).join("  "))
        if (report.drift.length > 0) {
          yield* Output.line("")
          yield* Output.line(
            Output.table(
              ["DRIFT", "KIND", "ID", "DETAIL", ...(report.fix ? ["REPAIR"] : [])],
              report.drift.map((d) => [
                d.type,
                d.kind,
                d.id,
                d.detail,
                ...(report.fix
                  ? [
                      d.repair === undefined
                        ? "-"
                        : d.repair.outcome === "fixed"
                          ? "fixed"
                          : `failed: ${d.repair.error}`,
                    ]
                  : []),
              ]),
            ),
          )
        }
        if (o.fix && config.dryRun) yield* Output.line("dry run: nothing was repaired")
      }
      if (report.fixFailed > 0) {
        return yield* new CliError({ reason: "Failure", message: `${report.fixFailed} repairs failed` })
      }
      if (Reconcile.hasDrift(report) && !(report.fix && Reconcile.allFixed(report))) {
        return yield* new CliError({
          reason: "Drift",
          message: `drift found: ${Reconcile.driftTypes.reduce((n, t) => n + report.counts[t], 0)} documents (run with --fix to repair from S3)`,
        })
      }
    }),
  )

const dynamoClient = (settings: DocketConfig.Settings) =>
  Effect.acquireRelease(
    Effect.map(
      dynamodbSdk,
      ({ DynamoDBClient }) =>
        new DynamoDBClient({
          region: settings.region,
          ...(Option.isSome(settings.dynamodbEndpoint) ? { endpoint: settings.dynamodbEndpoint.value } : {}),
          maxAttempts: 3,
        }),
    ),
    (client) => Effect.sync(() => client.destroy()),
  )

const aws = <A>(operation: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (cause) =>
      new CliError({
        reason: "Failure",
        message: `DynamoDB ${operation} failed: ${(cause as Error).name}: ${(cause as Error).message}`,
        cause,
      }),
  })

/** `docket table create` */
export const tableCreate = (o: Globals & { readonly tag: Option.Option<HashMap.HashMap<string, string>> }) =>
  Effect.gen(function* () {
    const { settings } = yield* resolve(o)
    const client = yield* dynamoClient(settings)
    const { CreateTableCommand, UpdateTimeToLiveCommand } = yield* dynamodbSdk
    const local = Option.isSome(settings.dynamodbEndpoint)
    const tags = Option.match(o.tag, { onNone: () => ({}), onSome: (m) => Object.fromEntries(HashMap.toEntries(m)) })
    if (local && Object.keys(tags).length > 0) {
      yield* Output.note("note: tags are skipped on a custom endpoint (DynamoDB Local does not support tagging)")
    }
    if (settings.dryRun) {
      yield* Output.line(`dry run: would create table ${settings.table} with TTL on ${Table.definition.ttlAttribute}`)
      return
    }
    const created = yield* aws("CreateTable", () =>
      client.send(new CreateTableCommand(Table.createTableInput(settings.table, local ? {} : tags))),
    ).pipe(
      Effect.as(true),
      Effect.catchIf(
        (e) => (e.cause as { name?: string })?.name === "ResourceInUseException",
        () => Effect.succeed(false),
      ),
    )
    if (created) {
      yield* aws("UpdateTimeToLive", () =>
        client.send(
          new UpdateTimeToLiveCommand({
            TableName: settings.table,
            TimeToLiveSpecification: { AttributeName: Table.definition.ttlAttribute, Enabled: true },
          }),
        ),
      )
    }
    const result = { table: settings.table, created, ttlAttribute: Table.definition.ttlAttribute }
    yield* Output.line(
      o.format === "table"
        ? created
          ? `created table ${settings.table} (TTL on ${Table.definition.ttlAttribute})`
          : `table ${settings.table} already exists`
        : JSON.stringify(result),
    )
  }).pipe(Effect.scoped)

/** `docket table describe` */
export const tableDescribe = (o: Globals) =>
  Effect.gen(function* () {
    const { settings } = yield* resolve(o)
    const client = yield* dynamoClient(settings)
    const { DescribeTableCommand, DescribeTimeToLiveCommand } = yield* dynamodbSdk
    const table = yield* aws("DescribeTable", () =>
      client.send(new DescribeTableCommand({ TableName: settings.table })),
    )
    const ttl = yield* aws("DescribeTimeToLive", () =>
      client.send(new DescribeTimeToLiveCommand({ TableName: settings.table })),
    )
    const t = table.Table
    const keys = (schema: ReadonlyArray<{ AttributeName?: string | undefined; KeyType?: string | undefined }> = []) =>
      schema.map((k) => `${k.AttributeName}(${k.KeyType === "HASH" ? "partition" : "sort"})`).join(" ")
    const description = {
      table: t?.TableName,
      status: t?.TableStatus,
      billing: t?.BillingModeSummary?.BillingMode ?? "PAY_PER_REQUEST",
      keys: keys(t?.KeySchema),
      indexes: (t?.GlobalSecondaryIndexes ?? []).map((i) => ({
        name: i.IndexName,
        keys: keys(i.KeySchema),
        status: i.IndexStatus,
      })),
      ttl: {
        attribute: ttl.TimeToLiveDescription?.AttributeName ?? null,
        status: ttl.TimeToLiveDescription?.TimeToLiveStatus ?? "DISABLED",
      },
      itemCount: t?.ItemCount ?? 0,
      sizeBytes: t?.TableSizeBytes ?? 0,
      matchesDefinition:
        (t?.GlobalSecondaryIndexes ?? [])
          .map((i) => i.IndexName)
          .sort()
          .join(",") ===
        Table.definition.indexes
          .map((i) => i.name)
          .sort()
          .join(","),
    }
    if (o.format !== "table") {
      yield* Output.line(JSON.stringify(description))
      return
    }
    yield* Output.line(
      [
        `table     ${description.table} (${description.status}, ${description.billing})`,
        `keys      ${description.keys}`,
        ...description.indexes.map((i) => `index     ${i.name}: ${i.keys} (${i.status})`),
        `ttl       ${description.ttl.attribute ?? "-"} (${description.ttl.status})`,
        `items     ${description.itemCount} (${description.sizeBytes} bytes; DynamoDB updates this about every 6 hours)`,
        `definition ${description.matchesDefinition ? "matches core's table definition" : "DIFFERS from core's table definition"}`,
      ].join("\n"),
    )
  }).pipe(Effect.scoped)

/** `docket local start` (see LocalMode). */
export const localStart = (o: Globals & { readonly delivery: "sqs" | "direct" }) =>
  Effect.flatMap(
    Effect.promise(() => import("./LocalMode.js")),
    (m) => m.start(o),
  )

/** `docket demo` (see Demo). */
export const demo = (o: Globals & { readonly documents: number; readonly customers: number }) =>
  Effect.flatMap(
    Effect.promise(() => import("./Demo.js")),
    (m) => m.run(o),
  )

/**
 * `docket heal`: resolves every abandoned write intent (lease expired) from the
 * sparse intents index: rolled forward when S3 holds the intent's ETag, else
 * dropped. Exit 1 when any resolution failed.
 */
export const heal = (o: Globals) =>
  withServices(
    o,
    Effect.gen(function* () {
      const tty = o.format === "table" && process.stderr.isTTY === true
      const report = yield* Heal.sweep({
        onProgress: (r) =>
          Effect.sync(() => {
            if (tty) process.stderr.write(`\r\x1b[2Kresolved ${r.found - r.failed} of ${r.found} expired intents`)
          }),
      })
      if (tty) process.stderr.write("\n")
      if (o.format === "table") {
        yield* Output.line(
          Output.table(
            ["FOUND", "ROLLED FORWARD", "DROPPED", "GONE", "FAILED"],
            [[report.found, report.rolledForward, report.dropped, report.gone, report.failed].map(String)],
          ),
        )
      } else {
        yield* Output.line(JSON.stringify(report))
      }
      if (report.failed > 0) {
        return yield* new CliError({
          reason: "Failure",
          message: `${report.failed} of ${report.found} expired intents could not be resolved (logged; run again)`,
        })
      }
    }),
  )

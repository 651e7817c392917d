// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations are plain strings in parsed HCL.
/**
 * Offline checks of infra/terraform (no provider can be downloaded here, so
 * `terraform validate`/`plan` of the modules cannot run): the HCL is parsed
 * with @cdktf/hcl2json and held against the code it must agree with (core's
 * table definition, the config names, the metric catalog, the Lambda package),
 * and the variables' validation blocks are run by the real terraform binary on
 * a provider-free copy of each module's variables.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "@cdktf/hcl2json"
import * as CacheMetrics from "@docket/core/CacheMetrics"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as MetricsExport from "@docket/core/MetricsExport"
import * as Table from "@docket/core/Table"
import type * as MetricKeyType from "effect/MetricKeyType"
import { beforeAll, describe, expect, it } from "vitest"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const terraformDir = join(repo, "infra/terraform")
const moduleDirs = {
  table: join(terraformDir, "modules/table"),
  sync: join(terraformDir, "modules/sync-lambda"),
  alarms: join(terraformDir, "modules/alarms"),
  example: join(terraformDir, "examples/existing-bucket"),
} as const

type Json = any
type Config = Record<string, Json>

/** All .tf files of a directory, parsed and merged (hcl2json's JSON shape). */
const load = async (dir: string): Promise<Config> => {
  const merged: Config = {}
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".tf"))) {
    const parsed: Config = await parse(file, readFileSync(join(dir, file), "utf8"))
    for (const [block, body] of Object.entries(parsed)) {
      if (Array.isArray(body)) merged[block] = [...(merged[block] ?? []), ...body]
      else if (typeof body === "object" && body !== null) {
        merged[block] ??= {}
        const target = merged[block]
        for (const [type, entries] of Object.entries(body)) {
          target[type] =
            typeof entries === "object" && !Array.isArray(entries) ? { ...target[type], ...entries } : entries
        }
      } else merged[block] = body
    }
  }
  return merged
}

const configs: Record<keyof typeof moduleDirs, Config> = {} as never
beforeAll(async () => {
  for (const [name, dir] of Object.entries(moduleDirs)) configs[name as keyof typeof moduleDirs] = await load(dir)
})

/** The one body of `resource TYPE NAME` (or `data`). */
const resource = (config: Config, type: string, name: string, block = "resource"): Json => {
  const body = config[block]?.[type]?.[name]
  expect(body, `${block} ${type}.${name}`).toBeDefined()
  return body[0]
}
const locals = (config: Config): Record<string, Json> => Object.assign({}, ...(config.locals ?? []))
/** Resolves a whole-string `${local.NAME}` reference. */
const resolveLocal = (config: Config, value: Json): Json => {
  const match = typeof value === "string" ? /^\$\{local\.([A-Za-z_]+)\}$/.exec(value) : null
  return match ? locals(config)[match[1]!] : value
}

describe("table module", () => {
  it("keys, indexes, projections, TTL and billing equal core's Table.definition", () => {
    const table = resource(configs.table, "aws_dynamodb_table", "this")
    const def = Table.definition
    expect(table.hash_key).toBe(def.partitionKey)
    expect(table.range_key).toBe(def.sortKey)
    expect(table.billing_mode).toBe(def.billingMode)
    expect(table.attribute.map((a: Json) => [a.name, a.type]).sort()).toStrictEqual(
      Table.keyAttributes.map((name) => [name, "S"]).sort(),
    )
    const indexes = table.global_secondary_index.map((gsi: Json) => ({
      name: gsi.name,
      partitionKey: gsi.hash_key,
      sortKey: gsi.range_key,
      projection: { type: gsi.projection_type, nonKeyAttributes: resolveLocal(configs.table, gsi.non_key_attributes) },
    }))
    expect(indexes).toStrictEqual(
      def.indexes.map((index) => ({
        ...index,
        projection: { ...index.projection, nonKeyAttributes: [...index.projection.nonKeyAttributes] },
      })),
    )
    expect(table.ttl).toStrictEqual([{ attribute_name: def.ttlAttribute, enabled: true }])
    // Every key attribute declared is used by a key (DynamoDB rejects unused attribute definitions).
    expect(new Set(Table.keyAttributes).size).toBe(table.attribute.length)
  })

  it("has point-in-time recovery, encryption, deletion protection and cost tags", () => {
    const table = resource(configs.table, "aws_dynamodb_table", "this")
    expect(table.point_in_time_recovery).toStrictEqual([{ enabled: "${var.point_in_time_recovery}" }])
    expect(configs.table.variable.point_in_time_recovery[0].default).toBe(true)
    expect(table.server_side_encryption[0].enabled).toBe(true)
    expect(table.deletion_protection_enabled).toBe("${var.deletion_protection}")
    expect(configs.table.variable.deletion_protection[0].default).toBe(true)
    expect(table.tags).toBe("${var.tags}")
  })
})

describe("sync-lambda module", () => {
  it("runs the packaged handler on nodejs24.x, arm64, with timeout and memory from variables", () => {
    const fn = resource(configs.sync, "aws_lambda_function", "this")
    expect(fn.runtime).toBe("nodejs24.x")
    expect(fn.architectures).toStrictEqual(["arm64"])
    expect(fn.timeout).toBe("${var.timeout}")
    expect(fn.memory_size).toBe("${var.memory_size}")
    expect(fn.filename).toBe("${var.zip_path}")
    expect(fn.source_code_hash).toBe("${filebase64sha256(var.zip_path)}")
    // The zip the Lambda package builds holds handler.mjs exporting `handler`.
    const packageScript = readFileSync(join(repo, "packages/lambda/scripts/package.mjs"), "utf8")
    expect(packageScript).toContain('zip({ "handler.mjs"')
    expect(packageScript).toContain('join(buildDir, "handler.zip")')
    expect(fn.handler).toBe("handler.handler")
    expect(readFileSync(join(repo, "packages/lambda/src/handler.ts"), "utf8")).toMatch(/export const handler\b/)
    // The example's default zip path is that file.
    const zipDefault = configs.example.variable.lambda_zip_path[0].default
    expect(resolve(moduleDirs.example, zipDefault)).toBe(join(repo, "packages/lambda/build/handler.zip"))
  })

  it("sets exactly DocketConfig's environment variables, minus AWS_REGION (Lambda's) and the local endpoints", () => {
    const fn = resource(configs.sync, "aws_lambda_function", "this")
    const environment = resolveLocal(configs.sync, fn.environment[0].variables)
    const localOnly = ["AWS_REGION", "DOCKET_DYNAMODB_ENDPOINT", "DOCKET_S3_ENDPOINT"]
    expect(Object.keys(environment).sort()).toStrictEqual(
      DocketConfig.environmentVariables.filter((name) => !localOnly.includes(name)).sort(),
    )
    expect(environment.DOCKET_TABLE).toBe("${var.table_name}")
    expect(environment.DOCKET_BUCKET).toBe("${var.bucket_name}")
    expect(environment.DOCKET_PREFIX).toBe("${var.document_prefix}")
  })

  it("has a log group with retention and an SQS dead-letter destination for failed async invocations", () => {
    const logGroup = resource(configs.sync, "aws_cloudwatch_log_group", "this")
    expect(logGroup.name).toBe("${local.log_group_name}")
    expect(locals(configs.sync).log_group_name).toBe("/aws/lambda/${var.function_name}")
    expect(logGroup.retention_in_days).toBe("${var.log_retention_days}")
    const invoke = resource(configs.sync, "aws_lambda_function_event_invoke_config", "this")
    expect(invoke.destination_config[0].on_failure[0].destination).toBe("${aws_sqs_queue.dlq.arn}")
    const dlq = resource(configs.sync, "aws_sqs_queue", "dlq")
    expect(dlq.sqs_managed_sse_enabled).toBe(true)
  })

  it("triggers on objects created and removed under the document prefix, with the Lambda permission", () => {
    const notification = resource(configs.sync, "aws_s3_bucket_notification", "this")
    const target = notification.lambda_function[0]
    expect(target.events.sort()).toStrictEqual(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"])
    expect(target.filter_prefix).toBe("${var.document_prefix}")
    expect(target.lambda_function_arn).toBe("${aws_lambda_function.this.arn}")
    const permission = resource(configs.sync, "aws_lambda_permission", "s3")
    expect(permission.principal).toBe("s3.amazonaws.com")
    expect(permission.action).toBe("lambda:InvokeFunction")
    expect(permission.source_arn).toBe("${local.bucket_arn}")
    expect(permission.source_account).toBeDefined()
  })

  it("grants least privilege: no '*' actions, no wildcard resources beyond its log group and the document prefix", () => {
    const policy = resource(configs.sync, "aws_iam_policy_document", "this", "data")
    const statements: Array<Json> = [
      ...(policy.statement ?? []),
      ...(policy.dynamic?.statement ?? []).flatMap((d: Json) => d.content),
    ]
    expect(statements.length).toBeGreaterThanOrEqual(5)
    const bySid = new Map(statements.map((s) => [s.sid, s]))
    for (const statement of statements) {
      expect(statement.effect).toBe("Allow")
      for (const action of statement.actions) expect(action, statement.sid).not.toContain("*")
      for (const arn of statement.resources) {
        expect(arn, statement.sid).not.toBe("*")
        if (!arn.includes("*")) continue
        // The only wildcards: streams of the function's own log group, objects under the prefix.
        const allowed = ["${local.log_group_arn}:*", "${local.bucket_arn}/${var.document_prefix}*"]
        expect(allowed, `${statement.sid}: ${arn}`).toContain(arn)
      }
      expect(statement.not_actions ?? statement.not_resources, statement.sid).toBeUndefined()
    }
    expect(bySid.get("WriteOwnLogs").actions.sort()).toStrictEqual(["logs:CreateLogStream", "logs:PutLogEvents"])
    expect(bySid.get("ReadDocuments").actions).toStrictEqual(["s3:GetObject"])
    expect(bySid.get("ListBucketForNotFound")).toMatchObject({
      actions: ["s3:ListBucket"],
      resources: ["${local.bucket_arn}"],
    })
    expect(bySid.get("DeadLetterQueue")).toMatchObject({
      actions: ["sqs:SendMessage"],
      resources: ["${aws_sqs_queue.dlq.arn}"],
    })
    // DynamoDB: the table and its three index ARNs only.
    const cache = bySid.get("CacheTable")
    expect(cache.resources).toBe("${concat([var.table_arn], local.index_arns)}")
    const indexArns: string = locals(configs.sync).index_arns
    for (const index of Table.definition.indexes) expect(indexArns).toContain(`"${index.name}"`)
    expect(indexArns).not.toContain("*")
    expect(indexArns).toContain("${var.table_arn}/index/${name}")
  })

  it("allows the DynamoDB actions the cache backend uses on the sync path, and no other", () => {
    const policy = resource(configs.sync, "aws_iam_policy_document", "this", "data")
    const cache = policy.statement.find((s: Json) => s.sid === "CacheTable")
    const backend = readFileSync(join(repo, "packages/core/src/DocumentCache/DynamoDB.ts"), "utf8")
    const commands = new Set([...backend.matchAll(/\b([A-Z][A-Za-z]+)Command\b/g)].map((m) => m[1]!))
    // IAM authorises TransactWriteItems per contained operation.
    const asIam = (command: string): Array<string> =>
      command === "TransactWriteItems" ? ["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"] : [command]
    const cliOnly = new Set(["Scan", "BatchWriteItem", "DescribeTable", "CreateTable"])
    const needed = new Set(
      [...commands]
        .filter((c) => !cliOnly.has(c))
        .flatMap(asIam)
        .map((a) => `dynamodb:${a}`),
    )
    expect(needed.size).toBeGreaterThan(0)
    for (const action of needed) expect(cache.actions, action).toContain(action)
    for (const action of cache.actions) expect([...needed], action).toContain(action)
  })
})

/** Every metric an alarm reads: top-level or inside metric queries. */
const alarmMetrics = (alarm: Json): Array<{ namespace: string; name: string; dimensions: Json; stat: string }> => [
  ...(alarm.metric_name
    ? [
        {
          namespace: alarm.namespace,
          name: alarm.metric_name,
          dimensions: alarm.dimensions,
          stat: alarm.extended_statistic ?? alarm.statistic,
        },
      ]
    : []),
  ...(alarm.metric_query ?? [])
    .filter((q: Json) => q.metric)
    .map((q: Json) => ({
      namespace: q.metric[0].namespace,
      name: q.metric[0].metric_name,
      dimensions: q.metric[0].dimensions,
      stat: q.metric[0].stat,
    })),
]

describe("alarms module", () => {
  const awsMetrics: Record<string, ReadonlyArray<string>> = {
    "AWS/Lambda": ["Errors", "Invocations", "Throttles", "Duration"],
    "AWS/SQS": ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"],
    "AWS/DynamoDB": ["ReadThrottleEvents", "WriteThrottleEvents", "ThrottledRequests"],
  }

  it("every alarm reads a metric Docket emits (namespace, name, dimensions) or an AWS service metric", () => {
    const alarms = Object.values(configs.alarms.resource.aws_cloudwatch_metric_alarm).map((a: Json) => a[0])
    expect(alarms.length).toBeGreaterThanOrEqual(5)
    const docketDimensions = resolveLocal(configs.alarms, "${local.docket_dimensions}")
    expect(Object.keys(docketDimensions)).toStrictEqual([...MetricsExport.baseDimensionNames])
    expect(docketDimensions.Service).toBe(MetricsExport.serviceName)
    expect(docketDimensions.Table).toBe("${var.table_name}")
    const catalog = new Map(MetricsExport.catalog.map((entry) => [entry.name, entry]))
    for (const alarm of alarms) {
      const metrics = alarmMetrics(alarm)
      expect(metrics.length, alarm.alarm_name).toBeGreaterThan(0)
      for (const metric of metrics) {
        if (metric.namespace === MetricsExport.namespace) {
          const entry = catalog.get(metric.name)
          expect(entry, `${alarm.alarm_name}: Docket/${metric.name}`).toBeDefined()
          expect(metric.dimensions).toBe("${local.docket_dimensions}")
          // Percentiles exist only for histograms (published as Values/Counts).
          if (/^p\d/.test(metric.stat)) expect(entry?.type).toBe("histogram")
        } else {
          expect(awsMetrics[metric.namespace], metric.namespace).toBeDefined()
          expect(awsMetrics[metric.namespace]).toContain(metric.name)
        }
      }
      // Expressions only use the queries defined beside them.
      const ids = new Set((alarm.metric_query ?? []).map((q: Json) => q.id))
      for (const query of alarm.metric_query ?? []) {
        if (!query.expression) continue
        const names = query.expression.replace(/\$\{[^}]*\}/g, "0").match(/\b[a-z][A-Za-z0-9_]*\b/g) ?? []
        for (const name of names) expect(ids, `${alarm.alarm_name}: ${name}`).toContain(name)
        expect(query.return_data).toBe(true)
      }
      expect(alarm.alarm_actions).toBe("${local.actions}")
    }
    expect(locals(configs.alarms).actions).toContain("var.alarm_sns_topic_arn")
  })

  it("has the alarms of the issue with their thresholds", () => {
    const alarms = configs.alarms.resource.aws_cloudwatch_metric_alarm
    const variables = configs.alarms.variable
    const hitRate = alarms.cache_hit_rate[0]
    expect(hitRate.comparison_operator).toBe("LessThanThreshold")
    expect(hitRate.threshold).toBe("${var.hit_rate_threshold}")
    expect(variables.hit_rate_threshold[0].default).toBe(80)
    expect(
      alarmMetrics(hitRate)
        .map((m) => m.name)
        .sort(),
    ).toStrictEqual(["CacheHits", "CacheMisses"])

    const p99 = alarms.query_latency_p99[0]
    expect(p99).toMatchObject({ metric_name: "QueryLatency", extended_statistic: "p99" })
    expect(p99.comparison_operator).toBe("GreaterThanThreshold")
    expect(variables.query_p99_threshold_ms[0].default).toBe(500)
    // The default threshold is a histogram boundary, so the exported p99 is on the right side of it.
    const boundaries = (CacheMetrics.queryLatency.keyType as MetricKeyType.MetricKeyType.Histogram).boundaries.values
    expect(boundaries).toContain(500)

    const errors = alarms.lambda_error_rate[0]
    expect(
      alarmMetrics(errors)
        .map((m) => `${m.namespace}/${m.name}`)
        .sort(),
    ).toStrictEqual(["AWS/Lambda/Errors", "AWS/Lambda/Invocations"])
    expect(variables.lambda_error_rate_threshold[0].default).toBe(1)

    expect(alarms.dlq_depth[0]).toMatchObject({
      namespace: "AWS/SQS",
      metric_name: "ApproximateNumberOfMessagesVisible",
      threshold: 0,
      comparison_operator: "GreaterThanThreshold",
    })
    const throttles = alarmMetrics(alarms.dynamodb_throttles[0]).map((m) => `${m.namespace}/${m.name}`)
    expect(throttles).toContain("AWS/DynamoDB/ReadThrottleEvents")
    expect(throttles).toContain("Docket/Throttles")
  })
})

describe("example root (existing bucket)", () => {
  it("wires the three modules and outputs the table, Lambda and dead-letter queue", () => {
    const modules = configs.example.module
    for (const [name, dir] of [
      ["table", "table"],
      ["sync", "sync-lambda"],
      ["alarms", "alarms"],
    ] as const) {
      expect(modules[name][0].source).toBe(`../../modules/${dir}`)
      expect(existsSync(join(moduleDirs.example, modules[name][0].source, "main.tf"))).toBe(true)
    }
    expect(modules.sync[0].table_arn).toBe("${module.table.arn}")
    expect(modules.alarms[0].dlq_name).toBe("${module.sync.dlq_name}")
    const outputs = Object.keys(configs.example.output)
    for (const name of ["table_name", "table_arn", "lambda_arn", "dlq_url", "dlq_arn"]) expect(outputs).toContain(name)
    // Each module's outputs referenced by the example exist.
    const referenced = JSON.stringify(configs.example).matchAll(/module\.(table|sync)\.([a-z_]+)/g)
    const moduleOf = { table: configs.table, sync: configs.sync } as const
    for (const [, mod, output] of referenced) {
      expect(Object.keys(moduleOf[mod as "table" | "sync"].output), `${mod}.${output}`).toContain(output)
    }
    // Module arguments are variables the module declares.
    for (const [name, config] of [
      ["table", configs.table],
      ["sync", configs.sync],
      ["alarms", configs.alarms],
    ] as const) {
      for (const arg of Object.keys(modules[name][0]).filter((k) => k !== "source")) {
        expect(Object.keys(config.variable), `${name}.${arg}`).toContain(arg)
      }
    }
  })

  it("every input variable that is not a plain boolean is validated", () => {
    for (const [name, config] of Object.entries(configs)) {
      for (const [variable, [body]] of Object.entries(config.variable as Record<string, Array<Json>>)) {
        expect(body.description, `${name}.${variable}`).toBeTruthy()
        if (body.type === "${bool}") continue
        expect(body.validation, `${name}.${variable} has no validation`).toBeDefined()
      }
    }
  })
})

const terraform = (process.env.PATH ?? "")
  .split(":")
  .filter((dir) => dir !== "")
  .map((dir) => join(dir, "terraform"))
  .find((path) => existsSync(path))

describe.runIf(terraform !== undefined)("variable validation, run by terraform on the variables alone", () => {
  /** Runs `terraform plan` on a copy of a module's variables.tf; returns the exit status and output. */
  const plan = (dir: string, vars: Record<string, string>, tfvars?: string) => {
    const work = mkdtempSync(join(tmpdir(), "docket-tf-"))
    try {
      writeFileSync(join(work, "variables.tf"), readFileSync(join(dir, "variables.tf")))
      if (tfvars !== undefined) writeFileSync(join(work, "terraform.tfvars"), readFileSync(join(dir, tfvars)))
      const env = { ...process.env, TF_IN_AUTOMATION: "1", TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" }
      execFileSync(terraform!, ["init", "-input=false", "-no-color"], { cwd: work, env, stdio: "pipe" })
      const args = [
        "plan",
        "-input=false",
        "-no-color",
        ...Object.entries(vars).flatMap(([k, v]) => ["-var", `${k}=${v}`]),
      ]
      try {
        return { ok: true, output: execFileSync(terraform!, args, { cwd: work, env, stdio: "pipe" }).toString() }
      } catch (error) {
        const e = error as { stdout?: Buffer; stderr?: Buffer }
        return { ok: false, output: `${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}` }
      }
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }
  const rejected = (output: string) => new Set([...output.matchAll(/var\.([a-z_]+) is /g)].map((m) => m[1]))

  it("sync-lambda accepts good values and rejects each bad one", () => {
    const good = {
      zip_path: "../../packages/lambda/build/handler.zip",
      table_name: "docket",
      table_arn: "arn:aws:dynamodb:eu-west-1:123456789012:table/docket",
      bucket_name: "acme-docs",
      document_prefix: "docs/",
      burst: "50",
    }
    expect(plan(moduleDirs.sync, good)).toMatchObject({ ok: true })
    const bad = {
      zip_path: "handler.tar",
      table_name: "x",
      table_arn: "arn:aws:s3:::acme",
      bucket_name: "Acme_Docs",
      document_prefix: "docs",
      memory_size: "64",
      timeout: "901",
      log_retention_days: "2",
      burst: "0",
      log_level: "loud",
      max_attempts: "0",
      async_retry_attempts: "3",
      rps: "0",
    }
    const result = plan(moduleDirs.sync, bad)
    expect(result.ok).toBe(false)
    expect([...rejected(result.output)].sort()).toStrictEqual(Object.keys(bad).sort())
  })

  it("table and alarms reject bad names, keys, topics and thresholds", () => {
    expect(plan(moduleDirs.table, { name: "docket-prod" })).toMatchObject({ ok: true })
    const table = plan(moduleDirs.table, { name: "a b", kms_key_arn: "alias/aws/dynamodb" })
    expect([...rejected(table.output)].sort()).toStrictEqual(["kms_key_arn", "name"])
    const good = { table_name: "docket", function_name: "docket-sync", dlq_name: "docket-sync-dlq" }
    expect(plan(moduleDirs.alarms, good)).toMatchObject({ ok: true })
    const alarms = plan(moduleDirs.alarms, {
      ...good,
      alarm_sns_topic_arn: "arn:aws:sqs:eu-west-1:123456789012:q",
      hit_rate_threshold: "120",
      period: "90",
    })
    expect([...rejected(alarms.output)].sort()).toStrictEqual(["alarm_sns_topic_arn", "hit_rate_threshold", "period"])
  })

  it("the example's terraform.tfvars.example passes the example's validations", () => {
    expect(plan(moduleDirs.example, {}, "terraform.tfvars.example")).toMatchObject({ ok: true })
    const bad = plan(
      moduleDirs.example,
      { region: "Europe", document_prefix: "docs", function_name: "a".repeat(60) },
      "terraform.tfvars.example",
    )
    expect([...rejected(bad.output)].sort()).toStrictEqual(["document_prefix", "function_name", "region"])
  })
})

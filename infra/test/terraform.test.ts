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
import * as CacheMetrics from "@docket/core/CacheMetrics"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as MetricsExport from "@docket/core/MetricsExport"
import * as S3Event from "@docket/core/S3Event"
import * as Table from "@docket/core/Table"
import type * as MetricKeyType from "effect/MetricKeyType"
import { beforeAll, describe, expect, it } from "vitest"
import { type Config, type Json, load } from "./Hcl.js"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const terraformDir = join(repo, "infra/terraform")
const deliveryModes = ["sqs", "eventbridge", "s3"] as const
const moduleDirs = {
  table: join(terraformDir, "modules/table"),
  sync: join(terraformDir, "modules/sync-lambda"),
  alarms: join(terraformDir, "modules/alarms"),
  sqs: join(terraformDir, "examples/sqs"),
  eventbridge: join(terraformDir, "examples/eventbridge"),
  s3: join(terraformDir, "examples/s3"),
} as const

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
  it("runs the packaged handler on nodejs24.x, on its stated architecture (arm64 unless set), with timeout and memory from variables", () => {
    const fn = resource(configs.sync, "aws_lambda_function", "this")
    expect(fn.runtime).toBe("nodejs24.x")
    expect(fn.architectures).toStrictEqual(["${var.architecture}"])
    expect(configs.sync.variable.architecture[0].default).toBe("arm64")
    expect(fn.timeout).toBe("${var.timeout}")
    expect(fn.memory_size).toBe("${var.memory_size}")
    expect(fn.filename).toBe("${var.zip_path}")
    expect(fn.source_code_hash).toBe("${filebase64sha256(var.zip_path)}")
    // The zip the Lambda package builds holds handler.mjs exporting `handler` (the bundle's, imported after
    // the compile cache is on).
    const packageScript = readFileSync(join(repo, "packages/lambda/scripts/package.mjs"), "utf8")
    expect(packageScript).toContain('writeFileSync(join(dir, "handler.mjs"), entrySource)')
    expect(packageScript).toContain('export const { handler } = await import("./bundle.mjs")')
    expect(packageScript).toContain('join(buildDir, "handler.zip")')
    expect(fn.handler).toBe("handler.handler")
    expect(readFileSync(join(repo, "packages/lambda/src/handler.ts"), "utf8")).toMatch(/export const handler\b/)
    // Each example's default zip path is that file.
    for (const mode of deliveryModes) {
      const zipDefault = configs[mode].variable.lambda_zip_path[0].default
      expect(resolve(moduleDirs[mode], zipDefault)).toBe(join(repo, "packages/lambda/build/handler.zip"))
    }
  })

  it("pins the runtime version when runtime_version_arn is set (Manual), else updates it only with the function", () => {
    // The zip's compile cache is used only by the Node version it was built with (docs/deployment.md).
    const config = resource(configs.sync, "aws_lambda_runtime_management_config", "this")
    expect(config).toStrictEqual({
      function_name: "${aws_lambda_function.this.function_name}",
      update_runtime_on: '${var.runtime_version_arn == null ? "FunctionUpdate" : "Manual"}',
      runtime_version_arn: "${var.runtime_version_arn}",
    })
    expect(configs.sync.variable.runtime_version_arn[0].default).toBeNull()
    for (const mode of deliveryModes) {
      const sync = configs[mode].module.sync[0]
      expect(sync.architecture).toBe("${var.lambda_architecture}")
      expect(sync.runtime_version_arn).toBe("${var.lambda_runtime_version_arn}")
      expect(configs[mode].variable.lambda_architecture[0].default).toBe("arm64")
    }
  })

  it("sets exactly DocketConfig's environment variables, minus AWS_REGION (Lambda's) and the local endpoints, plus a heap limit", () => {
    const fn = resource(configs.sync, "aws_lambda_function", "this")
    const environment = resolveLocal(configs.sync, fn.environment[0].variables)
    const localOnly = ["AWS_REGION", "DOCKET_DYNAMODB_ENDPOINT", "DOCKET_S3_ENDPOINT"]
    expect(Object.keys(environment).sort()).toStrictEqual(
      [...DocketConfig.environmentVariables.filter((name) => !localOnly.includes(name)), "NODE_OPTIONS"].sort(),
    )
    expect(environment.NODE_OPTIONS).toBe("--max-old-space-size=${local.node_heap_mb}")
    expect(locals(configs.sync).node_heap_mb).toBe(
      "${coalesce(var.node_heap_mb, max(64, floor(var.memory_size * 0.6)))}",
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

  const countedBy = (body: Json, condition: string) => expect(body.count ?? body.for_each).toContain(condition)

  it("s3 mode: the bucket notification invokes the function for created, removed and lifecycle-expired documents", () => {
    const notification = resource(configs.sync, "aws_s3_bucket_notification", "lambda")
    countedBy(notification, "local.delivery_s3 && var.manage_bucket_notification")
    const target = notification.lambda_function[0]
    expect(target.events).toBe("${local.s3_events}")
    expect([...locals(configs.sync).s3_events].sort()).toStrictEqual([
      "s3:LifecycleExpiration:*",
      "s3:ObjectCreated:*",
      "s3:ObjectRemoved:*",
    ])
    expect(target.filter_prefix).toBe("${var.document_prefix}")
    expect(target.lambda_function_arn).toBe("${aws_lambda_function.this.arn}")
    const permission = resource(configs.sync, "aws_lambda_permission", "s3")
    countedBy(permission, "local.delivery_s3")
    expect(permission.principal).toBe("s3.amazonaws.com")
    expect(permission.action).toBe("lambda:InvokeFunction")
    expect(permission.source_arn).toBe("${local.bucket_arn}")
    expect(permission.source_account).toBeDefined()
    // The handler treats every one of these event names as a change it syncs.
    for (const name of ["ObjectCreated:Put", "ObjectRemoved:Delete", "LifecycleExpiration:Delete"]) {
      expect(S3Event.eventTypeOf(name), name).not.toBe("other")
    }
  })

  it("sqs mode: a queue with a redrive policy, its policy for the bucket, the notification and a mapping that reports batch item failures", () => {
    const queue = resource(configs.sync, "aws_sqs_queue", "events")
    countedBy(queue, "local.delivery_sqs")
    // At least 64 KB messages, visibility >= 6x the function timeout (+ the batching window).
    expect(queue.max_message_size).toBeGreaterThanOrEqual(65536)
    expect(queue.visibility_timeout_seconds).toBe("${local.events_visibility_timeout}")
    expect(locals(configs.sync).events_visibility_timeout).toBe("${6 * var.timeout + var.sqs_batching_window_seconds}")
    expect(queue.redrive_policy).toContain("deadLetterTargetArn = aws_sqs_queue.events_dlq[0].arn")
    expect(queue.redrive_policy).toContain("maxReceiveCount     = var.sqs_max_receive_count")
    expect(queue.sqs_managed_sse_enabled).toBe(true)
    countedBy(resource(configs.sync, "aws_sqs_queue", "events_dlq"), "local.delivery_sqs")

    const queuePolicy = resource(configs.sync, "aws_iam_policy_document", "events_queue", "data").statement[0]
    expect(queuePolicy.actions).toStrictEqual(["sqs:SendMessage"])
    expect(queuePolicy.principals[0].identifiers).toStrictEqual(["s3.amazonaws.com"])
    expect(queuePolicy.condition.map((c: Json) => [c.variable, c.values[0]])).toStrictEqual([
      ["aws:SourceArn", "${local.bucket_arn}"],
      ["aws:SourceAccount", "${local.account_id}"],
    ])

    const notification = resource(configs.sync, "aws_s3_bucket_notification", "queue")
    countedBy(notification, "local.delivery_sqs && var.manage_bucket_notification")
    expect(notification.queue[0]).toMatchObject({
      queue_arn: "${aws_sqs_queue.events[0].arn}",
      events: "${local.s3_events}",
      filter_prefix: "${var.document_prefix}",
    })
    expect(notification.depends_on).toStrictEqual(["${aws_sqs_queue_policy.events}"])

    const mapping = resource(configs.sync, "aws_lambda_event_source_mapping", "sqs")
    countedBy(mapping, "local.delivery_sqs")
    expect(mapping).toMatchObject({
      event_source_arn: "${aws_sqs_queue.events[0].arn}",
      function_response_types: ["ReportBatchItemFailures"],
      batch_size: "${var.sqs_batch_size}",
      maximum_batching_window_in_seconds: "${var.sqs_batching_window_seconds}",
    })
    expect(mapping.dynamic.scaling_config[0].content[0].maximum_concurrency).toBe("${scaling_config.value}")
    expect(mapping.metrics_config).toStrictEqual([{ metrics: ["EventCount"] }])
    // The handler's SQS answer is exactly what ReportBatchItemFailures reads.
    const handler = readFileSync(join(repo, "packages/lambda/src/EventHandler.ts"), "utf8")
    expect(handler).toContain(
      "batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier }))",
    )
  })

  it("eventbridge mode: EventBridge on the bucket, a rule for Object Created/Deleted under the prefix, its target and the invoke permission", () => {
    const notification = resource(configs.sync, "aws_s3_bucket_notification", "eventbridge")
    countedBy(notification, "local.delivery_eventbridge && var.manage_bucket_notification")
    expect(notification.eventbridge).toBe(true)
    const rule = resource(configs.sync, "aws_cloudwatch_event_rule", "s3")
    countedBy(rule, "local.delivery_eventbridge")
    const pattern = rule.event_pattern as string
    expect(pattern).toContain('source        = ["aws.s3"]')
    expect(pattern).toContain('"detail-type" = ["Object Created", "Object Deleted"]')
    expect(pattern).toContain("bucket = { name = [var.bucket_name] }")
    expect(pattern).toContain('object = { key = [{ wildcard = "${var.document_prefix}*.json" }] }')
    // Lifecycle expirations arrive as "Object Deleted" (reason "Lifecycle Expiration").
    expect(S3Event.eventBridgeTypeOf("Object Deleted")).toBe("deleted")
    expect(S3Event.eventBridgeTypeOf("Object Created")).toBe("created")
    const target = resource(configs.sync, "aws_cloudwatch_event_target", "s3")
    expect(target.arn).toBe("${aws_lambda_function.this.arn}")
    expect(target.dead_letter_config[0].arn).toBe("${aws_sqs_queue.dlq.arn}")
    const permission = resource(configs.sync, "aws_lambda_permission", "eventbridge")
    expect(permission.principal).toBe("events.amazonaws.com")
    expect(permission.source_arn).toBe("${aws_cloudwatch_event_rule.s3[0].arn}")
    const dlqPolicy = resource(configs.sync, "aws_iam_policy_document", "dlq", "data").statement[0]
    expect(dlqPolicy.principals[0].identifiers).toStrictEqual(["events.amazonaws.com"])
    expect(dlqPolicy.condition[0].values).toStrictEqual(["${aws_cloudwatch_event_rule.s3[0].arn}"])
  })

  it("every notification resource belongs to exactly one mode, so a bucket gets one configuration", () => {
    const notifications = configs.sync.resource.aws_s3_bucket_notification
    const modes = Object.values(notifications).map((n: Json) => /local\.delivery_(\w+)/.exec(n[0].count)?.[1])
    expect(modes.sort()).toStrictEqual(["eventbridge", "s3", "sqs"])
  })

  it("precondition: the bucket is in the deployment's region", () => {
    const fn = resource(configs.sync, "aws_lambda_function", "this")
    const [precondition] = fn.lifecycle[0].precondition
    expect(precondition.condition).toBe("${data.aws_s3_bucket.documents.bucket_region == local.region}")
    expect(locals(configs.sync).region).toBe("${data.aws_region.current.region}")
    expect(resource(configs.sync, "aws_s3_bucket", "documents", "data").bucket).toBe("${var.bucket_name}")
  })

  it("schedules the reconcile (one run per slice) with EventBridge Scheduler, invoking the scheduled entry", () => {
    const reconcile = resource(configs.sync, "aws_scheduler_schedule", "reconcile")
    expect(reconcile.for_each).toBe("${local.reconcile_slices}")
    expect(reconcile.schedule_expression).toBe("${var.reconcile_schedule}")
    const target = reconcile.target[0]
    expect(target.arn).toBe("${aws_lambda_function.this.arn}")
    expect(target.role_arn).toBe("${aws_iam_role.scheduler[0].arn}")
    expect(target.input).toBe('${jsonencode({ docket = "reconcile", slice = each.value, fix = var.reconcile_fix })}')
    expect(target.dead_letter_config[0].arn).toBe("${aws_sqs_queue.dlq.arn}")
    // The intents sweep has its own schedule on the same entry, role and dead-letter queue.
    const heal = resource(configs.sync, "aws_scheduler_schedule", "heal")
    expect(heal.schedule_expression).toBe("${var.heal_schedule}")
    expect(heal.target[0].arn).toBe("${aws_lambda_function.this.arn}")
    expect(heal.target[0].input).toBe('${jsonencode({ docket = "heal" })}')
    expect(heal.target[0].dead_letter_config[0].arn).toBe("${aws_sqs_queue.dlq.arn}")
    expect(locals(configs.sync).schedules_enabled).toBe(
      "${var.reconcile_schedule != null || var.heal_schedule != null}",
    )
    // The payloads are the ones the Lambda's scheduled entry accepts.
    const entry = readFileSync(join(repo, "packages/lambda/src/ScheduledTask.ts"), "utf8")
    expect(entry).toContain('Schema.Literal("reconcile")')
    expect(entry).toContain('Schema.Literal("heal")')
    // The scheduler's role may invoke this function and dead-letter, nothing else.
    const policy = resource(configs.sync, "aws_iam_policy_document", "scheduler", "data")
    expect(policy.statement.map((s: Json) => [s.actions, s.resources])).toStrictEqual([
      [["lambda:InvokeFunction"], ["${aws_lambda_function.this.arn}"]],
      [["sqs:SendMessage"], ["${aws_sqs_queue.dlq.arn}"]],
    ])
    const assume = resource(configs.sync, "aws_iam_policy_document", "scheduler_assume", "data").statement[0]
    expect(assume.principals[0].identifiers).toStrictEqual(["scheduler.amazonaws.com"])
  })

  it("grants least privilege: no '*' actions, no wildcard resources beyond its log group and the document prefix", () => {
    const policy = resource(configs.sync, "aws_iam_policy_document", "this", "data")
    const statements: Array<Json> = [
      ...(policy.statement ?? []),
      ...(policy.dynamic?.statement ?? []).flatMap((d: Json) => d.content),
    ]
    expect(statements.length).toBeGreaterThanOrEqual(8)
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
    // SQS mode's polling, only on the events queue (present only when it exists).
    expect(bySid.get("ReceiveEvents")).toMatchObject({
      actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      resources: ["${statement.value}"],
    })
    expect(policy.dynamic.statement.find((d: Json) => d.content[0].sid === "ReceiveEvents").for_each).toBe(
      "${aws_sqs_queue.events[*].arn}",
    )
    // A customer managed table key: usable through DynamoDB of this region only.
    const tableKey = bySid.get("UseTableKey")
    expect(tableKey.actions).toContain("kms:Decrypt")
    expect(tableKey.condition[0]).toMatchObject({
      variable: "kms:ViaService",
      values: ["dynamodb.${local.region}.amazonaws.com"],
    })
    expect(policy.dynamic.statement.find((d: Json) => d.content[0].sid === "UseTableKey").for_each).toContain(
      "var.table_kms_key_arn",
    )
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
    expect(indexArns).toBe('${[for name in var.table_index_names : "${var.table_arn}/index/${name}"]}')
    // The default index names are core's.
    expect(configs.sync.variable.table_index_names[0].default).toStrictEqual(
      Table.definition.indexes.map((index) => index.name),
    )
  })

  it("allows exactly the DynamoDB actions the cache backend sends, TransactWriteItems as the item kinds it contains", () => {
    const policy = resource(configs.sync, "aws_iam_policy_document", "this", "data")
    const cache = policy.statement.find((s: Json) => s.sid === "CacheTable")
    const sources = backendSources()
    const commands = new Set([...sources.matchAll(/\bnew ([A-Z][A-Za-z]+)Command\(/g)].map((m) => m[1]!))
    // IAM authorises TransactWriteItems per contained operation: the ones the code builds.
    const transactKinds = [
      ...new Set([...sources.matchAll(/\b(Put|Update|Delete|ConditionCheck): \{/g)].map((m) => m[1]!)),
    ]
    const asIam = (command: string): Array<string> =>
      command === "TransactWriteItems"
        ? transactKinds.map((k) => (k === "ConditionCheck" ? "ConditionCheckItem" : `${k}Item`))
        : [command]
    const tableAdmin = new Set([
      "DescribeTable",
      "CreateTable",
      "UpdateTimeToLive",
      "DescribeTimeToLive",
      "BatchWriteItem",
    ])
    const needed = new Set(
      [...commands]
        .filter((c) => !tableAdmin.has(c))
        .flatMap(asIam)
        .map((a) => `dynamodb:${a}`),
    )
    expect(needed.size).toBeGreaterThan(0)
    expect([...cache.actions].sort()).toStrictEqual([...needed].sort())
  })
})

/** The DynamoDB cache backend's source: its module and the folder beside it, if any. */
const backendSources = (): string => {
  const dir = join(repo, "packages/core/src/DocumentCache")
  const files = [join(dir, "DynamoDB.ts")]
  const walk = (d: string) => {
    if (!existsSync(d)) return
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name))
      else if (entry.name.endsWith(".ts")) files.push(join(d, entry.name))
    }
  }
  walk(join(dir, "DynamoDB"))
  return files.map((f) => readFileSync(f, "utf8")).join("\n")
}

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
  ...[...(alarm.metric_query ?? []), ...(alarm.dynamic?.metric_query ?? []).flatMap((d: Json) => d.content)]
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
    "AWS/Lambda": [
      "Errors",
      "Invocations",
      "DestinationDeliveryFailures",
      "FailedInvokeEventCount",
      "DroppedEventCount",
    ],
    "AWS/SQS": ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"],
    "AWS/DynamoDB": ["ReadThrottleEvents", "WriteThrottleEvents"],
    "AWS/Events": ["FailedInvocations", "InvocationsFailedToBeSentToDlq"],
    "AWS/Scheduler": ["TargetErrorCount", "InvocationDroppedCount", "InvocationsFailedToBeSentToDeadLetterCount"],
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
          // A dynamic block's metric names come from the locals it iterates.
          const names =
            metric.name === "${metric_query.value.metric}"
              ? [...JSON.stringify(locals(configs.alarms)).matchAll(/metric = \\"(\w+)\\"/g)].map((m) => m[1]!)
              : [metric.name]
          expect(names.length, alarm.alarm_name).toBeGreaterThan(0)
          for (const name of names) expect(awsMetrics[metric.namespace]).toContain(name)
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
    expect(alarmMetrics(p99).map((m) => `${m.name}:${m.stat}`)).toStrictEqual([
      "QueryLatency:p99",
      "QueryLatency:SampleCount",
    ])
    // Low-sample periods count as healthy.
    expect(p99.metric_query[0].expression).toBe("IF(FILL(samples, 0) >= ${var.query_p99_min_samples}, FILL(p99, 0), 0)")
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
    expect(errors.metric_query[0].expression).toContain(">= ${var.lambda_error_rate_min_invocations}")
    expect(variables.lambda_error_rate_threshold[0].default).toBe(1)

    expect(alarms.dlq_depth[0]).toMatchObject({
      namespace: "AWS/SQS",
      metric_name: "ApproximateNumberOfMessagesVisible",
      threshold: 0,
      comparison_operator: "GreaterThanThreshold",
    })

    // Throttles: the table's and each index's own events (GlobalSecondaryIndexName), not Docket's Throttles.
    const throttles = alarms.dynamodb_throttles[0]
    const queries = throttles.dynamic.metric_query[0]
    expect(queries.for_each).toBe("${local.throttle_queries}")
    expect(queries.content[0].metric[0].namespace).toBe("AWS/DynamoDB")
    const throttleLocals = JSON.stringify(locals(configs.alarms).throttle_targets)
    expect(throttleLocals).toContain("GlobalSecondaryIndexName = name")
    expect(throttleLocals).toContain("var.index_names")
    expect(JSON.stringify(throttles)).not.toContain("Docket")
    expect(configs.alarms.variable.index_names[0].default).toStrictEqual(
      Table.definition.indexes.map((index) => index.name),
    )
  })

  it("has an alarm per delivery mode on what loses events, created only in that mode", () => {
    const alarms = configs.alarms.resource.aws_cloudwatch_metric_alarm
    const names = (alarm: Json) => alarmMetrics(alarm).map((m) => `${m.namespace}/${m.name}`)
    // Every mode: the function's dead-letter queue (depth, age) and DestinationDeliveryFailures.
    for (const name of ["dlq_depth", "dlq_age", "destination_delivery_failures"])
      expect(alarms[name][0].count).toBeUndefined()
    expect(names(alarms.dlq_age[0])).toStrictEqual(["AWS/SQS/ApproximateAgeOfOldestMessage"])
    expect(names(alarms.destination_delivery_failures[0])).toStrictEqual(["AWS/Lambda/DestinationDeliveryFailures"])
    expect(alarms.destination_delivery_failures[0].threshold).toBe(0)
    const sqs = { events_dlq_depth: "", events_dlq_age: "", events_queue_age: "", event_source_mapping_errors: "" }
    for (const name of Object.keys(sqs)) expect(alarms[name][0].count, name).toBe("${local.delivery_sqs ? 1 : 0}")
    expect(names(alarms.event_source_mapping_errors[0]).sort()).toStrictEqual([
      "AWS/Lambda/DroppedEventCount",
      "AWS/Lambda/FailedInvokeEventCount",
    ])
    expect(alarmMetrics(alarms.event_source_mapping_errors[0])[0]!.dimensions).toStrictEqual({
      EventSourceMappingUUID: "${var.event_source_mapping_uuid}",
    })
    expect(alarms.eventbridge_failures[0].count).toBe("${local.delivery_eventbridge ? 1 : 0}")
    expect(names(alarms.eventbridge_failures[0]).sort()).toStrictEqual([
      "AWS/Events/FailedInvocations",
      "AWS/Events/InvocationsFailedToBeSentToDlq",
    ])
    expect(alarms.schedule_failures[0].count).toBe("${local.schedules ? 1 : 0}")
    // The sync module publishes the mapping metrics the alarm reads.
    expect(resource(configs.sync, "aws_lambda_event_source_mapping", "sqs").metrics_config[0].metrics).toContain(
      "EventCount",
    )
    // Every alarm has a runbook section.
    const runbook = readFileSync(join(repo, "docs/runbook.md"), "utf8")
    const anchors = new Set(
      [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, "")
          .replace(/ /g, "-"),
      ),
    )
    for (const [name, [alarm]] of Object.entries(alarms as Record<string, Array<Json>>)) {
      const anchor = /docs\/runbook\.md#([a-z0-9-]+)/.exec(alarm.alarm_description)?.[1]
      expect(anchor, name).toBeDefined()
      expect(anchors, `${name}: runbook section #${anchor}`).toContain(anchor)
    }
  })
})

describe.each(deliveryModes)("example root (%s delivery)", (mode) => {
  it("wires the three modules in its delivery mode and outputs the table, Lambda and dead-letter queues", () => {
    const example = configs[mode]
    const modules = example.module
    for (const [name, dir] of [
      ["table", "table"],
      ["sync", "sync-lambda"],
      ["alarms", "alarms"],
    ] as const) {
      expect(modules[name][0].source).toBe(`../../modules/${dir}`)
      expect(existsSync(join(moduleDirs[mode], modules[name][0].source, "main.tf"))).toBe(true)
    }
    expect(modules.sync[0].delivery).toBe(mode)
    expect(modules.alarms[0].delivery).toBe("${module.sync.delivery}")
    expect(modules.sync[0].table_arn).toBe("${module.table.arn}")
    expect(modules.alarms[0].dlq_name).toBe("${module.sync.dlq_name}")
    expect(modules.alarms[0].schedule_group_name).toBe("${module.sync.schedule_group_name}")
    // The alarms of its mode get what they need.
    if (mode === "sqs") {
      for (const name of ["events_queue_name", "events_dlq_name", "event_source_mapping_uuid"]) {
        expect(modules.alarms[0][name]).toBe(`\${module.sync.${name}}`)
      }
    }
    if (mode === "eventbridge") expect(modules.alarms[0].event_rule_name).toBe("${module.sync.event_rule_name}")
    const outputs = Object.keys(example.output)
    for (const name of ["table_name", "table_arn", "lambda_arn", "dlq_url", "dlq_arn"]) expect(outputs).toContain(name)
    if (mode === "sqs") expect(outputs).toContain("events_dlq_url")
    // Each module's outputs referenced by the example exist.
    const referenced = JSON.stringify(example).matchAll(/module\.(table|sync)\.([a-z_]+)/g)
    const moduleOf = { table: configs.table, sync: configs.sync } as const
    for (const [, mod, output] of referenced) {
      expect(Object.keys(moduleOf[mod as "table" | "sync"].output), `${mod}.${output}`).toContain(output)
    }
    // Module arguments are variables the module declares, and the required ones are all given.
    for (const [name, config] of [
      ["table", configs.table],
      ["sync", configs.sync],
      ["alarms", configs.alarms],
    ] as const) {
      const args = Object.keys(modules[name][0]).filter((k) => k !== "source")
      for (const arg of args) expect(Object.keys(config.variable), `${name}.${arg}`).toContain(arg)
      for (const [variable, [body]] of Object.entries(config.variable as Record<string, Array<Json>>)) {
        if (!("default" in body)) expect(args, `${mode}: module ${name} needs ${variable}`).toContain(variable)
      }
    }
  })
})

describe("variables", () => {
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
    const modes = {
      ...good,
      delivery: "eventbridge",
      sqs_maximum_concurrency: "50",
      reconcile_schedule: "cron(0 3 * * ? *)",
      table_kms_key_arn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    }
    expect(plan(moduleDirs.sync, modes)).toMatchObject({ ok: true })
    expect(plan(moduleDirs.sync, { ...good, node_heap_mb: "300" })).toMatchObject({ ok: true })
    const pinned = {
      ...good,
      architecture: "x86_64",
      runtime_version_arn:
        "arn:aws:lambda:eu-west-1::runtime:0cdcfbdefbc5e7d3343f73c2e2dd3cba17d61dea0686b404502a0c9ce83931b9",
    }
    expect(plan(moduleDirs.sync, pinned)).toMatchObject({ ok: true })
    const slices = plan(moduleDirs.sync, { ...good, reconcile_slices: '["changes/", "changes/"]' })
    expect([...rejected(slices.output)]).toStrictEqual(["reconcile_slices"])
    const bad = {
      zip_path: "handler.tar",
      table_name: "x",
      table_arn: "arn:aws:s3:::acme",
      bucket_name: "Acme_Docs",
      document_prefix: "docs",
      memory_size: "64",
      node_heap_mb: "32",
      timeout: "901",
      log_retention_days: "2",
      burst: "0",
      log_level: "loud",
      max_attempts: "0",
      async_retry_attempts: "3",
      rps: "0",
      delivery: "kinesis",
      sqs_batch_size: "10001",
      sqs_batching_window_seconds: "301",
      sqs_maximum_concurrency: "1",
      sqs_max_receive_count: "0",
      reconcile_schedule: "every hour",
      table_kms_key_arn: "alias/docket",
      architecture: "x86",
      runtime_version_arn: "nodejs24.x",
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
      delivery: "direct",
      event_source_mapping_uuid: "not-a-uuid",
      dlq_age_threshold_seconds: "1209600",
    })
    expect([...rejected(alarms.output)].sort()).toStrictEqual([
      "alarm_sns_topic_arn",
      "delivery",
      "dlq_age_threshold_seconds",
      "event_source_mapping_uuid",
      "hit_rate_threshold",
      "period",
    ])
  })

  it.each(deliveryModes)("the %s example's terraform.tfvars.example passes the example's validations", (mode) => {
    expect(plan(moduleDirs[mode], {}, "terraform.tfvars.example")).toMatchObject({ ok: true })
    const bad = plan(
      moduleDirs[mode],
      { region: "Europe", document_prefix: "docs", function_name: "a".repeat(60) },
      "terraform.tfvars.example",
    )
    expect([...rejected(bad.output)].sort()).toStrictEqual(["document_prefix", "function_name", "region"])
  })
})

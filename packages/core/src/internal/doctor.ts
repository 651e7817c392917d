/**
 * The pure half of `Doctor`: what each check expects of what AWS answered.
 * Kept apart so the comparisons are tested without the services.
 */

import type { Metric } from "@aws-sdk/client-cloudwatch"
import type { TableDescription, TimeToLiveDescription } from "@aws-sdk/client-dynamodb"
import type {
  GetBucketNotificationConfigurationCommandOutput,
  NotificationConfigurationFilter,
} from "@aws-sdk/client-s3"
import * as Option from "effect/Option"
import type * as DocketConfig from "../DocketConfig.js"
import * as Table from "../Table.js"

/** What a check concluded. */
export interface Verdict {
  readonly status: "pass" | "fail" | "skip"
  readonly summary: string
  readonly details?: ReadonlyArray<string>
}

const verdict = (problems: ReadonlyArray<string>, pass: string, fail: string): Verdict =>
  problems.length === 0 ? { status: "pass", summary: pass } : { status: "fail", summary: fail, details: problems }

/** An access key id for people: the first four and last four characters. */
export const maskKey = (key: string): string => (key.length <= 8 ? "****" : `${key.slice(0, 4)}…${key.slice(-4)}`)

const validUrl = (url: string) => {
  try {
    return ["http:", "https:"].includes(new URL(url).protocol)
  } catch {
    return false
  }
}

/** The settings themselves: names AWS accepts, endpoints that are URLs. */
export const configuration = (s: DocketConfig.Settings): Verdict => {
  const problems: Array<string> = []
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(s.table))
    problems.push(`DOCKET_TABLE ${JSON.stringify(s.table)} is not a valid table name`)
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket))
    problems.push(`DOCKET_BUCKET ${JSON.stringify(s.bucket)} is not a valid bucket name`)
  if (s.prefix !== "" && !s.prefix.endsWith("/"))
    problems.push(
      `DOCKET_PREFIX ${JSON.stringify(s.prefix)} does not end with "/" (keys would read ${s.prefix}changes/...)`,
    )
  for (const [name, endpoint] of [
    ["DOCKET_DYNAMODB_ENDPOINT", s.dynamodbEndpoint],
    ["DOCKET_S3_ENDPOINT", s.s3Endpoint],
  ] as const) {
    if (Option.isSome(endpoint) && !validUrl(endpoint.value))
      problems.push(`${name} ${endpoint.value} is not an http(s) URL`)
  }
  const summary = `table ${s.table}, bucket ${s.bucket}${s.prefix === "" ? "" : `, prefix ${s.prefix}`}, region ${s.region}, cache ${s.cacheEnabled ? "on" : "off"}, ${s.rps} rps, TTL ${s.ttlDays} days${s.dryRun ? ", dry run" : ""}`
  return verdict(problems, summary, summary)
}

/** The table against {@link Table.definition}: keys, key types, indexes, projections, TTL, billing. */
export const table = (name: string, t: TableDescription, ttl: TimeToLiveDescription): Verdict => {
  const d = Table.definition
  const problems: Array<string> = []
  const keyOf = (schema: TableDescription["KeySchema"]) =>
    Object.fromEntries((schema ?? []).map((k) => [k.KeyType ?? "", k.AttributeName ?? ""]))
  const types = new Map((t.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]))
  const keys = keyOf(t.KeySchema)
  if (keys.HASH !== d.partitionKey || keys.RANGE !== d.sortKey) {
    problems.push(
      `keys: expected ${d.partitionKey} (HASH) + ${d.sortKey} (RANGE), found ${keys.HASH ?? "none"} (HASH) + ${keys.RANGE ?? "none"} (RANGE)`,
    )
  }
  for (const attribute of Table.keyAttributes) {
    const type = types.get(attribute)
    if (type !== undefined && type !== "S")
      problems.push(`attribute ${attribute}: expected type S (string), found ${type}`)
  }
  const indexes = new Map((t.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]))
  for (const expected of d.indexes) {
    const found = indexes.get(expected.name)
    if (found === undefined) {
      problems.push(`index ${expected.name}: missing (queries by ${expected.partitionKey} fail)`)
      continue
    }
    const k = keyOf(found.KeySchema)
    if (k.HASH !== expected.partitionKey || k.RANGE !== expected.sortKey) {
      problems.push(
        `index ${expected.name}: expected keys ${expected.partitionKey} + ${expected.sortKey}, found ${k.HASH ?? "none"} + ${k.RANGE ?? "none"}`,
      )
    }
    const projection = found.Projection?.ProjectionType
    if (projection === "INCLUDE") {
      const have = new Set(found.Projection?.NonKeyAttributes ?? [])
      const missing = expected.projection.nonKeyAttributes.filter((a) => !have.has(a))
      if (missing.length > 0) problems.push(`index ${expected.name}: projection lacks ${missing.join(", ")}`)
    } else if (projection !== "ALL") {
      problems.push(
        `index ${expected.name}: projection ${projection ?? "none"}, expected INCLUDE of ${expected.projection.nonKeyAttributes.join(", ")}`,
      )
    }
    if (found.IndexStatus !== undefined && found.IndexStatus !== "ACTIVE") {
      problems.push(`index ${expected.name}: status ${found.IndexStatus}, not ACTIVE yet`)
    }
  }
  if (ttl.TimeToLiveStatus !== "ENABLED" || ttl.AttributeName !== d.ttlAttribute) {
    problems.push(
      `TTL: expected ENABLED on ${d.ttlAttribute}, found ${ttl.TimeToLiveStatus ?? "DISABLED"}${ttl.AttributeName !== undefined ? ` on ${ttl.AttributeName}` : ""}`,
    )
  }
  const billing = t.BillingModeSummary?.BillingMode ?? "PROVISIONED"
  if (billing !== d.billingMode) problems.push(`billing: expected ${d.billingMode} (on-demand), found ${billing}`)
  if (t.TableStatus !== undefined && t.TableStatus !== "ACTIVE") problems.push(`status ${t.TableStatus}, not ACTIVE`)
  return verdict(
    problems,
    `table ${name}: keys, ${d.indexes.length} indexes, projections, TTL on ${d.ttlAttribute}, ${d.billingMode}`,
    `table ${name} differs from Docket's definition`,
  )
}

type Notification = Pick<
  GetBucketNotificationConfigurationCommandOutput,
  "LambdaFunctionConfigurations" | "QueueConfigurations" | "EventBridgeConfiguration"
>

const covers = (events: ReadonlyArray<string>, family: "ObjectCreated" | "ObjectRemoved") =>
  events.some((e) => e === `s3:${family}:*` || e.startsWith(`s3:${family}:`))

const prefixRule = (filter: NotificationConfigurationFilter | undefined) =>
  filter?.Key?.FilterRules?.find((r) => r.Name?.toLowerCase() === "prefix")?.Value ?? ""

const functionMatches = (arn: string, wanted: string) =>
  arn === wanted || arn.endsWith(`:function:${wanted}`) || arn.includes(`:function:${wanted}:`)

/**
 * The bucket's event delivery: a notification of created and removed objects
 * (under the document prefix) to the function, the queue, or EventBridge.
 */
export const delivery = (
  n: Notification,
  target: { readonly prefix: string; readonly functionName?: string; readonly queueArn?: string },
): Verdict => {
  const routes: Array<{ readonly to: string; readonly events: ReadonlyArray<string>; readonly prefix: string }> = [
    ...(n.LambdaFunctionConfigurations ?? [])
      .map((c) => ({
        to: `function ${c.LambdaFunctionArn ?? "?"}`,
        arn: c.LambdaFunctionArn ?? "",
        events: c.Events ?? [],
        prefix: prefixRule(c.Filter),
      }))
      .filter(
        (r) =>
          target.queueArn === undefined &&
          (target.functionName === undefined || functionMatches(r.arn, target.functionName)),
      ),
    ...(n.QueueConfigurations ?? [])
      .map((c) => ({
        to: `queue ${c.QueueArn ?? "?"}`,
        arn: c.QueueArn ?? "",
        events: c.Events ?? [],
        prefix: prefixRule(c.Filter),
      }))
      .filter((r) => target.queueArn === undefined || r.arn === target.queueArn),
  ]
  if (n.EventBridgeConfiguration !== undefined && target.queueArn === undefined) {
    // EventBridge gets every event; the rule (Terraform's) filters them.
    routes.push({
      to: "EventBridge (the rule decides what reaches the function)",
      events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
      prefix: "",
    })
  }
  const wanted =
    target.queueArn ??
    (target.functionName !== undefined ? `function ${target.functionName}` : "a function, queue or EventBridge")
  if (routes.length === 0) {
    return {
      status: "fail",
      summary: `the bucket sends no object events to ${wanted}`,
      details: [
        "no notification configuration matches: the cache only converges through reconcile (lost writes stay stale until then)",
        "see docs/deployment.md: Terraform's delivery = sqs | eventbridge | s3",
      ],
    }
  }
  const problems: Array<string> = []
  const created = routes.filter((r) => covers(r.events, "ObjectCreated"))
  const removed = routes.filter((r) => covers(r.events, "ObjectRemoved"))
  if (created.length === 0)
    problems.push(`no route sends s3:ObjectCreated:* (new and updated documents are not synced)`)
  if (removed.length === 0) problems.push(`no route sends s3:ObjectRemoved:* (deleted documents stay in the cache)`)
  for (const r of routes) {
    if (r.prefix !== "" && !target.prefix.startsWith(r.prefix) && !r.prefix.startsWith(target.prefix)) {
      problems.push(
        `${r.to}: filter prefix ${JSON.stringify(r.prefix)} excludes the documents under ${JSON.stringify(target.prefix)}`,
      )
    }
  }
  return verdict(
    problems,
    `created and removed objects go to ${routes.map((r) => r.to).join(", ")}`,
    "event delivery is incomplete",
  )
}

const defaults: Readonly<Record<string, string>> = {
  DOCKET_TABLE: "docket",
  DOCKET_PREFIX: "",
  DOCKET_TTL_DAYS: "365",
  DOCKET_CACHE: "on",
  DOCKET_DRY_RUN: "false",
}

/** The function's environment against the settings this process runs with (they must describe the same deployment). */
export const environment = (
  s: DocketConfig.Settings,
  vars: Readonly<Record<string, string>>,
  functionName: string,
  known: ReadonlyArray<string>,
): Verdict => {
  const expected: Record<string, string> = {
    DOCKET_TABLE: s.table,
    DOCKET_BUCKET: s.bucket,
    DOCKET_PREFIX: s.prefix,
    DOCKET_TTL_DAYS: String(s.ttlDays),
    DOCKET_CACHE: s.cacheEnabled ? "on" : "off",
  }
  const problems: Array<string> = []
  for (const [name, value] of Object.entries(expected)) {
    const actual = vars[name] ?? defaults[name]
    if (actual === undefined) problems.push(`${name} is not set (expected ${JSON.stringify(value)})`)
    else if (actual !== value) problems.push(`${name} is ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`)
  }
  if ((vars.DOCKET_DRY_RUN ?? "false") === "true") problems.push("DOCKET_DRY_RUN is true: the function changes nothing")
  for (const name of Object.keys(vars)) {
    if (name.startsWith("DOCKET_") && !known.includes(name))
      problems.push(`${name} is not a variable Docket reads (a typo?)`)
  }
  return verdict(
    problems,
    `function ${functionName}: environment matches (table, bucket, prefix, TTL, cache)`,
    `function ${functionName}: environment differs`,
  )
}

/** Recent data in the metric namespace (the Lambda's EMF lines become metrics within minutes). */
export const metrics = (namespace: string, tableName: string, listed: ReadonlyArray<Metric>): Verdict => {
  const ours = listed.filter((m) => (m.Dimensions ?? []).some((d) => d.Name === "Table" && d.Value === tableName))
  if (ours.length === 0) {
    return {
      status: "fail",
      summary: `no metrics in ${namespace} for table ${tableName} in the last 3 hours`,
      details: [
        listed.length === 0
          ? `the namespace ${namespace} has no recent data at all: is the function running and writing EMF lines?`
          : `${namespace} has recent data, but none with Table=${tableName}: another table's deployment?`,
      ],
    }
  }
  const names = [...new Set(ours.map((m) => m.MetricName ?? "?"))].sort()
  return {
    status: "pass",
    summary: `${names.length} metrics with recent data in ${namespace} (${names.slice(0, 5).join(", ")}${names.length > 5 ? ", ..." : ""})`,
  }
}

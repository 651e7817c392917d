/**
 * Offline `terraform validate`, as far as the provider goes: every module and
 * example is checked against the hashicorp/aws schema of the lowest and the
 * highest version the modules' constraint allows (ProviderSchema.ts fetches
 * and caches them), and deliberately broken copies must fail with the problem
 * that was put in.
 */
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { load, parseFiles, readModule } from "./Hcl.js"
import * as ProviderSchema from "./ProviderSchema.js"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const terraformDir = join(repo, "infra/terraform")
const dirs = [
  "modules/table",
  "modules/sync-lambda",
  "modules/alarms",
  "modules/backfill",
  "examples/sqs",
  "examples/eventbridge",
  "examples/s3",
] as const

const schemas = new Map<string, ProviderSchema.Schema>()
beforeAll(async () => {
  const loaded = await Promise.all(ProviderSchema.versions.map((v) => ProviderSchema.load(v)))
  for (const schema of loaded) schemas.set(schema.version, schema)
}, 900_000)

/** A copy of a module with one text replacement in one file; the replaced text must be there. */
const broken = (dir: string, file: string, from: string, to: string) =>
  parseFiles(
    readModule(join(terraformDir, dir)).map(([name, text]) => {
      if (name !== file) return [name, text] as const
      expect(text, `${dir}/${file} contains ${JSON.stringify(from)}`).toContain(from)
      return [name, text.replace(from, to)] as const
    }),
  )

const breakages: ReadonlyArray<{
  readonly name: string
  readonly dir: string
  readonly file: string
  readonly from: string
  readonly to: string
  readonly problem: string
}> = [
  {
    name: "an unknown resource type",
    dir: "modules/sync-lambda",
    file: "main.tf",
    from: 'resource "aws_lambda_function" "this"',
    to: 'resource "aws_lambda_functions" "this"',
    problem: 'resource "aws_lambda_functions": unknown resource type',
  },
  {
    name: "an unknown data source type",
    dir: "modules/sync-lambda",
    file: "main.tf",
    from: 'data "aws_s3_bucket" "documents"',
    to: 'data "aws_s3_buckets_of" "documents"',
    problem: 'data "aws_s3_buckets_of": unknown data source type',
  },
  {
    name: "a misspelt argument",
    dir: "modules/sync-lambda",
    file: "delivery.tf",
    from: "function_response_types = ",
    to: "function_response_type = ",
    problem: 'aws_lambda_event_source_mapping.sqs: unsupported argument or block "function_response_type"',
  },
  {
    name: "a missing required argument",
    dir: "modules/sync-lambda",
    file: "main.tf",
    from: "  role                           = aws_iam_role.this.arn\n",
    to: "",
    problem: 'aws_lambda_function.this: missing required argument "role"',
  },
  {
    name: "a misspelt block",
    dir: "modules/sync-lambda",
    file: "delivery.tf",
    from: "  metrics_config {",
    to: "  metric_config {",
    problem: 'aws_lambda_event_source_mapping.sqs: unsupported argument or block "metric_config"',
  },
  {
    name: "a missing required block",
    dir: "modules/sync-lambda",
    file: "schedule.tf",
    from: "  flexible_time_window {",
    to: "  flexible_window {",
    problem: 'aws_scheduler_schedule.reconcile: missing required block "flexible_time_window"',
  },
  {
    name: "a nested block's unknown argument",
    dir: "modules/sync-lambda",
    file: "schedule.tf",
    from: "maximum_retry_attempts       = 2",
    to: "maximum_retries              = 2",
    problem: 'aws_scheduler_schedule.reconcile.target.retry_policy: unsupported argument or block "maximum_retries"',
  },
  {
    name: "a dynamic block that is no block",
    dir: "modules/sync-lambda",
    file: "delivery.tf",
    from: 'dynamic "scaling_config"',
    to: 'dynamic "scaling"',
    problem: 'aws_lambda_event_source_mapping.sqs: dynamic "scaling": no block "scaling" here',
  },
  {
    name: "a block written as an argument",
    dir: "modules/sync-lambda",
    file: "main.tf",
    from: "  environment {",
    to: "  environment = {",
    problem: 'aws_lambda_function.this: "environment" is a block',
  },
  {
    name: "an attribute a data source does not export",
    dir: "modules/sync-lambda",
    file: "main.tf",
    from: "data.aws_s3_bucket.documents.bucket_region == local.region",
    to: "data.aws_s3_bucket.documents.location == local.region",
    problem: 'aws_s3_bucket has no attribute "location"',
  },
  {
    name: "an attribute a resource does not export",
    dir: "modules/sync-lambda",
    file: "outputs.tf",
    from: "aws_lambda_event_source_mapping.sqs[*].uuid",
    to: "aws_lambda_event_source_mapping.sqs[*].mapping_id",
    problem: 'aws_lambda_event_source_mapping has no attribute "mapping_id"',
  },
  {
    name: "a reference to a resource that is not declared",
    dir: "modules/sync-lambda",
    file: "schedule.tf",
    from: "resources = [aws_sqs_queue.dlq.arn]",
    to: "resources = [aws_sqs_queue.dead.arn]",
    problem: "aws_sqs_queue.dead is not declared in this module",
  },
  {
    name: "an alarm without its required evaluation_periods",
    dir: "modules/alarms",
    file: "delivery.tf",
    from: "  threshold           = var.dlq_age_threshold_seconds\n  evaluation_periods  = 1\n",
    to: "  threshold           = var.dlq_age_threshold_seconds\n",
    problem: 'aws_cloudwatch_metric_alarm.dlq_age: missing required argument "evaluation_periods"',
  },
  {
    name: "a metric query's misspelt nested block",
    dir: "modules/alarms",
    file: "delivery.tf",
    from: '    id = "failed"\n    metric {',
    to: '    id = "failed"\n    metrics {',
    problem:
      'aws_cloudwatch_metric_alarm.event_source_mapping_errors.metric_query: unsupported argument or block "metrics"',
  },
]

describe("provider versions", () => {
  it("are the ends of every module's constraint: its lower bound, and the highest below its upper bound with a schema", () => {
    const constraints = new Set<string>()
    for (const dir of dirs) {
      const versions = readFileSync(join(terraformDir, dir, "versions.tf"), "utf8")
      const match = /source\s*=\s*"hashicorp\/aws"\s*\n\s*version\s*=\s*"([^"]+)"/.exec(versions)
      expect(match, `${dir}/versions.tf pins hashicorp/aws`).not.toBeNull()
      constraints.add(match![1]!)
    }
    expect([...constraints]).toStrictEqual([">= 6.20.0, < 7.0.0"])
    expect(ProviderSchema.versions.map((v) => v.aws)).toStrictEqual(["6.20.0", "6.25.0"])
  })
})

describe.each(ProviderSchema.versions)("hashicorp/aws $aws (@cdktf/provider-aws $cdktf)", ({ aws }) => {
  const schema = () => {
    const s = schemas.get(aws)
    expect(s, `schema ${aws} loaded`).toBeDefined()
    return s!
  }

  it("has the resource and data source types a schema of that size has", () => {
    expect(Object.keys(schema().resources).length).toBeGreaterThan(1000)
    expect(Object.keys(schema().dataSources).length).toBeGreaterThan(400)
    expect(schema().resources.aws_lambda_function?.args.function_name?.required).toBe(true)
  })

  it.each(dirs)("%s is valid against the provider schema", async (dir) => {
    const config = await load(join(terraformDir, dir))
    expect(ProviderSchema.check(config, schema())).toStrictEqual([])
  })

  it.each(breakages)("a copy with $name fails", async ({ dir, file, from, to, problem }) => {
    const config = await broken(dir, file, from, to)
    const problems = ProviderSchema.check(config, schema())
    expect(problems.length, problems.join("\n")).toBeGreaterThan(0)
    expect(
      problems.some((p) => p.includes(problem)),
      `expected a problem containing ${JSON.stringify(problem)}, got:\n${problems.join("\n")}`,
    ).toBe(true)
  })
})

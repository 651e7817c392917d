# The S3 event sync Lambda (packages/lambda): the zip from
# `npm run package -w @docket/lambda`, its log group, its role (least
# privilege for the delivery mode), and the dead-letter queue for failed
# asynchronous invocations. How events reach it is in delivery.tf, the
# scheduled reconcile-and-heal runs in schedule.tf.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# The bucket must be in the deployment's region: S3 delivers notifications to
# queues and functions of its own region only, and EventBridge sees a bucket's
# events in the bucket's region only.
data "aws_s3_bucket" "documents" {
  bucket = var.bucket_name
}

locals {
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.region
  account_id     = data.aws_caller_identity.current.account_id
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"
  bucket_arn     = "arn:${local.partition}:s3:::${var.bucket_name}"
  index_arns     = [for name in var.table_index_names : "${var.table_arn}/index/${name}"]

  # The heap limit of the function's Node process (old space, MB): 60% of its
  # memory unless set. The scheduled reconcile and a backfill hold flat memory,
  # but under Node's default heap V8 collects late (docs/backfill-at-scale.md,
  # Memory); the rest of memory_size is for the young generation, buffers, code.
  node_heap_mb = coalesce(var.node_heap_mb, max(64, floor(var.memory_size * 0.6)))

  # DocketConfig.environmentVariables, minus AWS_REGION (reserved: Lambda sets
  # it) and the two endpoint overrides (local stack only), plus NODE_OPTIONS.
  environment = {
    NODE_OPTIONS                 = "--max-old-space-size=${local.node_heap_mb}"
    DOCKET_TABLE                 = var.table_name
    DOCKET_BUCKET                = var.bucket_name
    DOCKET_PREFIX                = var.document_prefix
    DOCKET_RPS                   = tostring(var.rps)
    DOCKET_BURST                 = tostring(coalesce(var.burst, var.rps))
    DOCKET_TTL_DAYS              = tostring(var.ttl_days)
    DOCKET_CACHE                 = "on"
    DOCKET_DRY_RUN               = tostring(var.dry_run)
    DOCKET_LOG_LEVEL             = var.log_level
    DOCKET_MAX_ATTEMPTS          = tostring(var.max_attempts)
    DOCKET_ATTEMPT_TIMEOUT       = tostring(var.attempt_timeout_ms)
    DOCKET_WRITE_WAIT            = "20000"
    DOCKET_S3_CONDITIONAL_WRITES = "on"
    DOCKET_CONSUMED_CAPACITY     = var.consumed_capacity ? "on" : "off"
    DOCKET_TOMBSTONE_TTL_SECONDS = tostring(var.tombstone_ttl_seconds)
    DOCKET_EVENT_CONCURRENCY     = tostring(var.event_concurrency)
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# Failed asynchronous invocations land here after Lambda's retries: S3 and
# EventBridge deliveries, and the scheduled reconcile-and-heal runs.
resource "aws_sqs_queue" "dlq" {
  name                      = "${var.function_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to investigate and redrive
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_lambda_function" "this" {
  function_name                  = var.function_name
  description                    = "Docket: keeps the DynamoDB cache in sync with S3 documents"
  role                           = aws_iam_role.this.arn
  filename                       = var.zip_path
  source_code_hash               = filebase64sha256(var.zip_path)
  handler                        = "handler.handler"
  runtime                        = "nodejs24.x"
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = local.environment
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = data.aws_s3_bucket.documents.bucket_region == local.region
      error_message = "The bucket ${var.bucket_name} is in ${data.aws_s3_bucket.documents.bucket_region}, the deployment in ${local.region}: S3 notifications and EventBridge only reach functions and queues of the bucket's region. Deploy Docket in the bucket's region."
    }
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# The zip's V8 compile cache is used only by the Node version it was packaged
# with: pinned (Manual), the runtime cannot move under it; unpinned, it moves
# only when the function is updated (docs/deployment.md, "The compile cache").
# A runtime that moved is no error: the cache is ignored.
resource "aws_lambda_runtime_management_config" "this" {
  function_name       = aws_lambda_function.this.function_name
  update_runtime_on   = var.runtime_version_arn == null ? "FunctionUpdate" : "Manual"
  runtime_version_arn = var.runtime_version_arn
}

# Asynchronous invocations (S3 direct, EventBridge, the schedule): after the
# retries, a failed event goes to the dead-letter queue (docs/runbook.md).
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_retry_attempts
  maximum_event_age_in_seconds = var.max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}

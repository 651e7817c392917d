# The S3 event sync Lambda (packages/lambda): the zip from
# `npm run package -w @docket/lambda`, its log group, its role (least
# privilege), the dead-letter queue for failed asynchronous invocations, and
# the S3 trigger for documents under the prefix.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"
  bucket_arn     = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  index_arns     = [for name in ["TimeRangeIndex", "CustomerTimeIndex", "StatusTimeIndex"] : "${var.table_arn}/index/${name}"]

  # DocketConfig.environmentVariables, minus AWS_REGION (reserved: Lambda sets
  # it) and the two endpoint overrides (local stack only).
  environment = {
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

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.function_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to investigate and redrive
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.function_name}-role"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid     = "WriteOwnLogs"
    effect  = "Allow"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # Log streams of this function's log group only.
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "ReadDocuments"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.document_prefix}*"]
  }

  # Without ListBucket, S3 answers 403 instead of 404 for a deleted object,
  # and the sync could not tell "removed" from "denied". Not narrowed by an
  # s3:prefix condition: a GetObject request carries no s3:prefix, so such a
  # grant would not turn its 403 into a 404. ListBucket reveals key names only.
  statement {
    sid       = "ListBucketForNotFound"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }

  # TransactWriteItems is authorised per contained action (Put, Update,
  # Delete, ConditionCheck); there is no separate IAM action for it.
  statement {
    sid    = "CacheTable"
    effect = "Allow"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:ConditionCheckItem",
    ]
    resources = concat([var.table_arn], local.index_arns)
  }

  statement {
    sid       = "DeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = var.bucket_kms_key_arn == null ? [] : [var.bucket_kms_key_arn]
    content {
      sid       = "DecryptDocuments"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "docket-sync"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  function_name                  = var.function_name
  description                    = "Docket: keeps the DynamoDB cache in sync with S3 documents"
  role                           = aws_iam_role.this.arn
  filename                       = var.zip_path
  source_code_hash               = filebase64sha256(var.zip_path)
  handler                        = "handler.handler"
  runtime                        = "nodejs24.x"
  architectures                  = ["arm64"]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = local.environment
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# S3 invokes the function asynchronously: after the retries, a failed event
# goes to the dead-letter queue (see docs/runbook.md for the redrive).
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

resource "aws_lambda_permission" "s3" {
  statement_id   = "AllowS3Invoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = local.bucket_arn
  source_account = data.aws_caller_identity.current.account_id
}

# Note: a bucket has one notification configuration and this resource owns
# all of it. If the bucket already has notifications, set
# manage_bucket_notification = false and add the lambda_function block below
# to the configuration that owns them.
resource "aws_s3_bucket_notification" "this" {
  count  = var.manage_bucket_notification ? 1 : 0
  bucket = var.bucket_name

  lambda_function {
    id                  = "docket-sync"
    lambda_function_arn = aws_lambda_function.this.arn
    events              = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    filter_prefix       = var.document_prefix
    filter_suffix       = ".json"
  }

  depends_on = [aws_lambda_permission.s3]
}

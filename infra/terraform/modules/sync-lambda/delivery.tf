# How S3 changes reach the function, by var.delivery (docs/deployment.md,
# "Choosing a delivery mode"). Every mode delivers created, removed and
# lifecycle-expired objects under the prefix.
#
# - "sqs" (recommended): the bucket notifies a queue; an event source mapping
#   polls it in batches and retries only the messages the handler reports as
#   failed; after max_receive_count receives a message moves to the events
#   dead-letter queue.
# - "eventbridge": the bucket sends all its events to EventBridge; a rule
#   matches Object Created / Object Deleted under the prefix and invokes the
#   function asynchronously.
# - "s3": the bucket notification invokes the function asynchronously.
#
# A bucket has one notification configuration and aws_s3_bucket_notification
# owns all of it: with manage_bucket_notification = false, add the block this
# module would have written to the configuration that owns it.

locals {
  delivery_s3          = var.delivery == "s3"
  delivery_sqs         = var.delivery == "sqs"
  delivery_eventbridge = var.delivery == "eventbridge"

  # Lifecycle expirations are removals too (the handler treats them so).
  s3_events = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]

  # AWS: at least six times the function timeout, plus the batching window,
  # so a message is not received again while a retried invocation still runs.
  events_visibility_timeout = 6 * var.timeout + var.sqs_batching_window_seconds
}

# ---------------------------------------------------------------------------
# "s3": direct asynchronous invocation

resource "aws_lambda_permission" "s3" {
  count          = local.delivery_s3 ? 1 : 0
  statement_id   = "AllowS3Invoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = local.bucket_arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "lambda" {
  count  = local.delivery_s3 && var.manage_bucket_notification ? 1 : 0
  bucket = var.bucket_name

  lambda_function {
    id                  = "docket-sync"
    lambda_function_arn = aws_lambda_function.this.arn
    events              = local.s3_events
    filter_prefix       = var.document_prefix
    filter_suffix       = ".json"
  }

  depends_on = [aws_lambda_permission.s3]
}

# ---------------------------------------------------------------------------
# "sqs": bucket -> queue -> event source mapping

resource "aws_sqs_queue" "events_dlq" {
  count                     = local.delivery_sqs ? 1 : 0
  name                      = "${var.function_name}-events-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "events" {
  count                      = local.delivery_sqs ? 1 : 0
  name                       = "${var.function_name}-events"
  visibility_timeout_seconds = local.events_visibility_timeout
  max_message_size           = 262144 # S3 event messages are small; 256 KB leaves room for any key
  message_retention_seconds  = var.sqs_message_retention_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq[0].arn
    maxReceiveCount     = var.sqs_max_receive_count
  })

  tags = var.tags
}

# Only the events queue may use its dead-letter queue (and redrive back to it).
resource "aws_sqs_queue_redrive_allow_policy" "events_dlq" {
  count     = local.delivery_sqs ? 1 : 0
  queue_url = aws_sqs_queue.events_dlq[0].id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.events[0].arn]
  })
}

data "aws_iam_policy_document" "events_queue" {
  count = local.delivery_sqs ? 1 : 0

  statement {
    sid       = "BucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events[0].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  count     = local.delivery_sqs ? 1 : 0
  queue_url = aws_sqs_queue.events[0].id
  policy    = data.aws_iam_policy_document.events_queue[0].json
}

resource "aws_s3_bucket_notification" "queue" {
  count  = local.delivery_sqs && var.manage_bucket_notification ? 1 : 0
  bucket = var.bucket_name

  queue {
    id            = "docket-sync"
    queue_arn     = aws_sqs_queue.events[0].arn
    events        = local.s3_events
    filter_prefix = var.document_prefix
    filter_suffix = ".json"
  }

  # S3 sends a test message on creation and fails if the queue refuses it.
  depends_on = [aws_sqs_queue_policy.events]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  count                              = local.delivery_sqs ? 1 : 0
  event_source_arn                   = aws_sqs_queue.events[0].arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.sqs_batch_size
  maximum_batching_window_in_seconds = var.sqs_batching_window_seconds
  # The handler answers { batchItemFailures }: only those messages come back.
  function_response_types = ["ReportBatchItemFailures"]
  enabled                 = true

  dynamic "scaling_config" {
    for_each = var.sqs_maximum_concurrency == null ? [] : [var.sqs_maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  # Publishes the mapping's event counts (FailedInvokeEventCount,
  # DroppedEventCount, ...) that the alarms module watches.
  metrics_config {
    metrics = ["EventCount"]
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.sqs_batch_size <= 10 || var.sqs_batching_window_seconds >= 1
      error_message = "sqs_batch_size over 10 needs sqs_batching_window_seconds of at least 1 (a Lambda rule for SQS event sources)."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}

# ---------------------------------------------------------------------------
# "eventbridge": bucket -> EventBridge -> rule -> asynchronous invocation

resource "aws_s3_bucket_notification" "eventbridge" {
  count       = local.delivery_eventbridge && var.manage_bucket_notification ? 1 : 0
  bucket      = var.bucket_name
  eventbridge = true
}

resource "aws_cloudwatch_event_rule" "s3" {
  count       = local.delivery_eventbridge ? 1 : 0
  name        = "${var.function_name}-s3"
  description = "Docket: S3 objects created or deleted (lifecycle expirations included) under the document prefix"

  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created", "Object Deleted"]
    detail = {
      bucket = { name = [var.bucket_name] }
      object = { key = [{ wildcard = "${var.document_prefix}*.json" }] }
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "s3" {
  count     = local.delivery_eventbridge ? 1 : 0
  rule      = aws_cloudwatch_event_rule.s3[0].name
  target_id = "docket-sync"
  arn       = aws_lambda_function.this.arn

  # EventBridge's own retries of a delivery it could not make (throttling,
  # permissions); function errors are retried by Lambda (async_retry_attempts).
  retry_policy {
    maximum_event_age_in_seconds = var.max_event_age_seconds
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "eventbridge" {
  count         = local.delivery_eventbridge ? 1 : 0
  statement_id  = "AllowEventBridgeInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.s3[0].arn
}

data "aws_iam_policy_document" "dlq" {
  count = local.delivery_eventbridge ? 1 : 0

  statement {
    sid       = "EventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.s3[0].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  count     = local.delivery_eventbridge ? 1 : 0
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq[0].json
}

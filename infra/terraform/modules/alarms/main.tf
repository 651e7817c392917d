# Docket's CloudWatch alarms. Docket metrics are in namespace "Docket" with
# dimensions Service=docket and Table=<table> (packages/core/src/MetricsExport.ts:
# EMF from the Lambda, PutMetricData from `docket ... --metrics cloudwatch`);
# infra/test checks that every metric named here is one Docket emits.
# What each alarm means and what to do: docs/runbook.md.

locals {
  docket_dimensions = {
    Service = "docket"
    Table   = var.table_name
  }
  actions = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  # One read and one write query for the table, then for each index.
  throttle_targets = concat(
    [{ key = "table", dimensions = { TableName = var.table_name } }],
    [for i, name in var.index_names : { key = "gsi${i}", dimensions = { TableName = var.table_name, GlobalSecondaryIndexName = name } }],
  )
  throttle_queries = flatten([
    for t in local.throttle_targets : [
      { id = "read_${t.key}", metric = "ReadThrottleEvents", dimensions = t.dimensions },
      { id = "write_${t.key}", metric = "WriteThrottleEvents", dimensions = t.dimensions },
    ]
  ])
}

resource "aws_cloudwatch_metric_alarm" "cache_hit_rate" {
  alarm_name          = "${var.name_prefix}-cache-hit-rate"
  alarm_description   = "Docket cache hit rate under ${var.hit_rate_threshold}% (periods with fewer than ${var.hit_rate_min_reads} reads count as healthy). Runbook: docs/runbook.md#cache-hit-rate"
  comparison_operator = "LessThanThreshold"
  threshold           = var.hit_rate_threshold
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "IF((FILL(hits, 0) + FILL(misses, 0)) >= ${var.hit_rate_min_reads}, 100 * FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0)), 100)"
    label       = "Cache hit rate (%)"
    return_data = true
  }

  metric_query {
    id = "hits"
    metric {
      namespace   = "Docket"
      metric_name = "CacheHits"
      dimensions  = local.docket_dimensions
      period      = var.period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "misses"
    metric {
      namespace   = "Docket"
      metric_name = "CacheMisses"
      dimensions  = local.docket_dimensions
      period      = var.period
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "query_latency_p99" {
  alarm_name          = "${var.name_prefix}-query-latency-p99"
  alarm_description   = "Docket query latency p99 over ${var.query_p99_threshold_ms} ms (periods with fewer than ${var.query_p99_min_samples} queries count as healthy). Runbook: docs/runbook.md#query-latency-p99"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.query_p99_threshold_ms
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  # A p99 of a handful of queries is one slow query: decided only on enough samples.
  metric_query {
    id          = "gated"
    expression  = "IF(FILL(samples, 0) >= ${var.query_p99_min_samples}, FILL(p99, 0), 0)"
    label       = "Query latency p99 (ms), periods with enough queries"
    return_data = true
  }

  metric_query {
    id = "p99"
    metric {
      namespace   = "Docket"
      metric_name = "QueryLatency"
      dimensions  = local.docket_dimensions
      period      = var.period
      stat        = "p99"
    }
  }

  metric_query {
    id = "samples"
    metric {
      namespace   = "Docket"
      metric_name = "QueryLatency"
      dimensions  = local.docket_dimensions
      period      = var.period
      stat        = "SampleCount"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_error_rate" {
  alarm_name          = "${var.name_prefix}-sync-error-rate"
  alarm_description   = "Docket sync Lambda error rate over ${var.lambda_error_rate_threshold}% (periods with fewer than ${var.lambda_error_rate_min_invocations} invocations count as healthy). Runbook: docs/runbook.md#sync-error-rate"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.lambda_error_rate_threshold
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "IF(FILL(invocations, 0) >= ${var.lambda_error_rate_min_invocations}, 100 * FILL(errors, 0) / FILL(invocations, 0), 0)"
    label       = "Lambda error rate (%)"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = var.function_name }
      period      = var.period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "invocations"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      dimensions  = { FunctionName = var.function_name }
      period      = var.period
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  alarm_name          = "${var.name_prefix}-dlq-depth"
  alarm_description   = "Failed asynchronous invocations (S3 or EventBridge events, scheduled runs) are waiting in the dead-letter queue ${var.dlq_name}. Runbook: docs/runbook.md#dead-letter-queue-depth"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.dlq_name }
  statistic           = "Maximum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# Throttle events of the table and of each index (an index's are reported
# under its GlobalSecondaryIndexName dimension only, and a throttled index
# write throttles the table write). Docket's own Throttles count is not added:
# it counts the same DynamoDB throttles again, and S3's too.
resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  alarm_name          = "${var.name_prefix}-dynamodb-throttles"
  alarm_description   = "DynamoDB throttled requests to the table or its indexes more than ${var.throttle_threshold} times per period. Runbook: docs/runbook.md#dynamodb-throttles"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.throttle_threshold
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "throttles"
    expression  = join(" + ", [for q in local.throttle_queries : "FILL(${q.id}, 0)"])
    label       = "Throttled requests (table and indexes)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.throttle_queries
    content {
      id = metric_query.value.id
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = metric_query.value.metric
        dimensions  = metric_query.value.dimensions
        period      = var.period
        stat        = "Sum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "reconcile_needed" {
  alarm_name          = "${var.name_prefix}-reconcile-needed"
  alarm_description   = "A writer (ReconcileNeeded is emitted by writers: export their metrics) reported keys whose cache may disagree with S3 until `docket reconcile --fix` or the scheduled reconcile runs. Runbook: docs/runbook.md#reconcile-needed"
  namespace           = "Docket"
  metric_name         = "ReconcileNeeded"
  dimensions          = local.docket_dimensions
  statistic           = "Sum"
  period              = var.period
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# Alarms on what loses events, per delivery mode (docs/runbook.md). An event
# is lost when it leaves the pipeline without reaching the cache: it sits in
# a dead-letter queue until the queue's retention ends, or it could not even
# be dead-lettered. Alarms of a mode exist only in that mode.

locals {
  delivery_sqs         = var.delivery == "sqs"
  delivery_eventbridge = var.delivery == "eventbridge"
  schedules            = var.schedule_group_name != null
}

# ---------------------------------------------------------------------------
# Every mode: the function's dead-letter queue of asynchronous invocations

resource "aws_cloudwatch_metric_alarm" "dlq_age" {
  alarm_name          = "${var.name_prefix}-dlq-age"
  alarm_description   = "A message in the dead-letter queue ${var.dlq_name} is older than ${var.dlq_age_threshold_seconds} s and expires after 14 days: redrive it. Runbook: docs/runbook.md#dead-letter-queue-age"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.dlq_name }
  statistic           = "Maximum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dlq_age_threshold_seconds
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# Lambda could not deliver a failed asynchronous invocation to its on-failure
# destination: that event is gone without a trace but this metric.
resource "aws_cloudwatch_metric_alarm" "destination_delivery_failures" {
  alarm_name          = "${var.name_prefix}-destination-delivery-failures"
  alarm_description   = "The sync Lambda could not send a failed invocation to its dead-letter queue: events were lost. Runbook: docs/runbook.md#destination-delivery-failures"
  namespace           = "AWS/Lambda"
  metric_name         = "DestinationDeliveryFailures"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# ---------------------------------------------------------------------------
# "sqs": the events queue, its dead-letter queue, the event source mapping

resource "aws_cloudwatch_metric_alarm" "events_dlq_depth" {
  count               = local.delivery_sqs ? 1 : 0
  alarm_name          = "${var.name_prefix}-events-dlq-depth"
  alarm_description   = "S3 event messages failed max_receive_count times and wait in the events dead-letter queue ${coalesce(var.events_dlq_name, "-")}. Runbook: docs/runbook.md#events-dead-letter-queue"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.events_dlq_name }
  statistic           = "Maximum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.events_dlq_name != null && var.events_queue_name != null && var.event_source_mapping_uuid != null
      error_message = "delivery = \"sqs\" needs events_queue_name, events_dlq_name and event_source_mapping_uuid (the sync-lambda module's outputs)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "events_dlq_age" {
  count               = local.delivery_sqs ? 1 : 0
  alarm_name          = "${var.name_prefix}-events-dlq-age"
  alarm_description   = "A message in the events dead-letter queue is older than ${var.dlq_age_threshold_seconds} s and expires after 14 days: redrive it. Runbook: docs/runbook.md#events-dead-letter-queue"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.events_dlq_name }
  statistic           = "Maximum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dlq_age_threshold_seconds
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# The queue's oldest message: sync is falling behind (or not polling at all).
resource "aws_cloudwatch_metric_alarm" "events_queue_age" {
  count               = local.delivery_sqs ? 1 : 0
  alarm_name          = "${var.name_prefix}-events-queue-age"
  alarm_description   = "The oldest S3 event in the events queue waits more than ${var.events_queue_age_threshold_seconds} s: the sync is behind or not polling. Runbook: docs/runbook.md#events-queue-age"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.events_queue_name }
  statistic           = "Maximum"
  period              = var.period
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.events_queue_age_threshold_seconds
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# The event source mapping's event counts (metrics_config EventCount):
# invocations that failed as a whole (errors, timeouts, throttles), and events
# it dropped.
resource "aws_cloudwatch_metric_alarm" "event_source_mapping_errors" {
  count               = local.delivery_sqs ? 1 : 0
  alarm_name          = "${var.name_prefix}-event-source-mapping-errors"
  alarm_description   = "The SQS event source mapping failed to invoke the sync Lambda for events, or dropped events. Runbook: docs/runbook.md#event-source-mapping-errors"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "errors"
    expression  = "FILL(failed, 0) + FILL(dropped, 0)"
    label       = "Events failed or dropped by the event source mapping"
    return_data = true
  }

  metric_query {
    id = "failed"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "FailedInvokeEventCount"
      dimensions  = { EventSourceMappingUUID = var.event_source_mapping_uuid }
      period      = var.period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "dropped"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "DroppedEventCount"
      dimensions  = { EventSourceMappingUUID = var.event_source_mapping_uuid }
      period      = var.period
      stat        = "Sum"
    }
  }
}

# ---------------------------------------------------------------------------
# "eventbridge": the rule's deliveries

resource "aws_cloudwatch_metric_alarm" "eventbridge_failures" {
  count               = local.delivery_eventbridge ? 1 : 0
  alarm_name          = "${var.name_prefix}-eventbridge-failures"
  alarm_description   = "EventBridge could not deliver S3 events to the sync Lambda, or could not dead-letter them (lost). Runbook: docs/runbook.md#eventbridge-failures"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "failures"
    expression  = "FILL(failed, 0) + FILL(undelivered, 0)"
    label       = "Rule invocations failed or not dead-lettered"
    return_data = true
  }

  metric_query {
    id = "failed"
    metric {
      namespace   = "AWS/Events"
      metric_name = "FailedInvocations"
      dimensions  = { RuleName = var.event_rule_name }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "undelivered"
    metric {
      namespace   = "AWS/Events"
      metric_name = "InvocationsFailedToBeSentToDlq"
      dimensions  = { RuleName = var.event_rule_name }
      period      = 300
      stat        = "Sum"
    }
  }

  lifecycle {
    precondition {
      condition     = var.event_rule_name != null
      error_message = "delivery = \"eventbridge\" needs event_rule_name (the sync-lambda module's output)."
    }
  }
}

# ---------------------------------------------------------------------------
# The schedules: a run Scheduler could not make is a safety net missing

resource "aws_cloudwatch_metric_alarm" "schedule_failures" {
  count               = local.schedules ? 1 : 0
  alarm_name          = "${var.name_prefix}-schedule-failures"
  alarm_description   = "EventBridge Scheduler could not invoke the scheduled reconcile or heal (target errors, dropped, or not dead-lettered). Runbook: docs/runbook.md#schedule-failures"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "failures"
    expression  = "FILL(target, 0) + FILL(dropped, 0) + FILL(undelivered, 0)"
    label       = "Scheduled invocations that did not happen"
    return_data = true
  }

  metric_query {
    id = "target"
    metric {
      namespace   = "AWS/Scheduler"
      metric_name = "TargetErrorCount"
      dimensions  = { ScheduleGroup = var.schedule_group_name }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "dropped"
    metric {
      namespace   = "AWS/Scheduler"
      metric_name = "InvocationDroppedCount"
      dimensions  = { ScheduleGroup = var.schedule_group_name }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "undelivered"
    metric {
      namespace   = "AWS/Scheduler"
      metric_name = "InvocationsFailedToBeSentToDeadLetterCount"
      dimensions  = { ScheduleGroup = var.schedule_group_name }
      period      = 300
      stat        = "Sum"
    }
  }
}

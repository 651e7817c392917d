# The safety net for lost events (DESIGN section 6): EventBridge Scheduler
# invokes the function's scheduled entry (packages/lambda ScheduledTask) with
#   { "docket": "reconcile", "slice": "<sub-prefix>", "fix": true }
# once per slice at reconcile_schedule, and the intents sweep
#   { "docket": "heal" }
# at heal_schedule (write intents whose writer died, DESIGN section 6). Invocations are
# asynchronous: a failed run is retried by Lambda and then dead-lettered like
# any other (docs/runbook.md). What it costs: docs/deployment.md.

locals {
  reconcile_slices  = var.reconcile_schedule == null ? {} : { for index, slice in var.reconcile_slices : tostring(index) => slice }
  schedules_enabled = var.reconcile_schedule != null || var.heal_schedule != null
}

resource "aws_scheduler_schedule_group" "this" {
  count = local.schedules_enabled ? 1 : 0
  name  = var.function_name
  tags  = var.tags
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count                = local.schedules_enabled ? 1 : 0
  name                 = "${var.function_name}-scheduler"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeScheduledEntry"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this.arn]
  }

  # The schedule's own dead-letter queue: invocations Scheduler could not make.
  statement {
    sid       = "ScheduleDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count  = local.schedules_enabled ? 1 : 0
  name   = "docket-schedule"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "reconcile" {
  for_each                     = local.reconcile_slices
  name                         = "${var.function_name}-reconcile-${each.key}"
  group_name                   = aws_scheduler_schedule_group.this[0].name
  description                  = "Docket: reconcile the cache with S3 under '${var.document_prefix}${each.value}'"
  schedule_expression          = var.reconcile_schedule
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 5
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = jsonencode({ docket = "reconcile", slice = each.value, fix = var.reconcile_fix })

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}

# The intents sweep: resolves write intents whose lease expired (a writer that
# died between its intent and its commit) from the sparse IntentIndex, never a
# table scan. Readers, writers and event sync resolve the ones they meet; this
# bounds how long one nobody meets can stay (invariant 6: lease + one sweep).
resource "aws_scheduler_schedule" "heal" {
  count                        = var.heal_schedule == null ? 0 : 1
  name                         = "${var.function_name}-heal"
  group_name                   = aws_scheduler_schedule_group.this[0].name
  description                  = "Docket: resolve write intents whose lease expired"
  schedule_expression          = var.heal_schedule
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = jsonencode({ docket = "heal" })

    retry_policy {
      maximum_event_age_in_seconds = 300
      maximum_retry_attempts       = 2
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}

# Distributed backfill of a Docket cache (docs/backfill-at-scale.md):
# - an IAM role S3 Batch Operations assumes to invoke the Docket Lambda once per
#   object of a manifest (an S3 Inventory report or a CSV of keys) and to write
#   its completion report; the job itself is created per run (`aws s3control
#   create-job`, see the doc), since it is an operation, not infrastructure;
# - a Step Functions state machine whose Distributed Map reads an S3 Inventory
#   manifest and hands the Lambda item batches, with a concurrency tied to the
#   table's write budget.

data "aws_partition" "current" {}

locals {
  partition       = data.aws_partition.current.partition
  bucket_arn      = "arn:${local.partition}:s3:::${var.bucket_name}"
  inventory_arn   = "arn:${local.partition}:s3:::${var.inventory_bucket_name}"
  report_arn      = "arn:${local.partition}:s3:::${var.report_bucket_name}"
  max_concurrency = max(1, floor(var.table_write_budget / var.writes_per_second_per_invocation))
}

# ---- The two roles that invoke the Docket Lambda --------------------------------
# S3 Batch Operations (once per object of a manifest; the job itself is created per
# run) and the Step Functions Distributed Map: each is assumed by its service, may
# invoke the Lambda, and reads and writes what its statements add.

locals {
  invokers = {
    batch_operations = {
      role_name   = "${var.name}-s3-batch-backfill"
      policy_name = "invoke-docket"
      service     = "batchoperations.s3.amazonaws.com"
      statements = [
        { sid = "ReadManifest", actions = ["s3:GetObject", "s3:GetObjectVersion"], resources = ["${local.inventory_arn}/*"] },
        { sid = "WriteReport", actions = ["s3:PutObject"], resources = ["${local.report_arn}/${var.report_prefix}*"] },
      ]
    }
    state_machine = {
      role_name   = "${var.name}-backfill-map"
      policy_name = "docket-backfill-map"
      service     = "states.amazonaws.com"
      statements = [
        { sid = "ReadInventory", actions = ["s3:GetObject"], resources = ["${local.inventory_arn}/*"] },
        {
          sid       = "WriteResults"
          actions   = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
          resources = ["${local.report_arn}/${var.report_prefix}*"]
        },
        # A Distributed Map runs its items as child executions of the same state machine.
        {
          sid       = "ChildExecutions"
          actions   = ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"]
          resources = ["arn:${local.partition}:states:*:*:stateMachine:${var.name}-backfill", "arn:${local.partition}:states:*:*:execution:${var.name}-backfill:*"]
        },
      ]
    }
  }
}

data "aws_iam_policy_document" "trust" {
  for_each = local.invokers
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value.service]
    }
  }
}

resource "aws_iam_role" "invoker" {
  for_each           = local.invokers
  name               = each.value.role_name
  assume_role_policy = data.aws_iam_policy_document.trust[each.key].json
  tags               = var.tags
}

data "aws_iam_policy_document" "invoker" {
  for_each = local.invokers
  statement {
    sid       = "InvokeDocket"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.function_arn, "${var.function_arn}:*"]
  }
  dynamic "statement" {
    for_each = each.value.statements
    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "invoker" {
  for_each = local.invokers
  name     = each.value.policy_name
  role     = aws_iam_role.invoker[each.key].id
  policy   = data.aws_iam_policy_document.invoker[each.key].json
}

# The roles and policies had an address each before: existing deployments keep them.
moved {
  from = aws_iam_role.batch_operations
  to   = aws_iam_role.invoker["batch_operations"]
}

moved {
  from = aws_iam_role.state_machine
  to   = aws_iam_role.invoker["state_machine"]
}

moved {
  from = aws_iam_role_policy.batch_operations
  to   = aws_iam_role_policy.invoker["batch_operations"]
}

moved {
  from = aws_iam_role_policy.state_machine
  to   = aws_iam_role_policy.invoker["state_machine"]
}

# ---- Step Functions Distributed Map over an inventory manifest ----------------

resource "aws_sfn_state_machine" "backfill" {
  name     = "${var.name}-backfill"
  role_arn = aws_iam_role.invoker["state_machine"].arn
  tags     = var.tags
  # Input: { "manifestBucket": "...", "manifestKey": ".../manifest.json" }
  definition = jsonencode({
    Comment = "Docket backfill over an S3 Inventory manifest: item batches to the Docket Lambda."
    StartAt = "Backfill"
    States = {
      Backfill = {
        Type = "Map"
        ItemReader = {
          Resource     = "arn:aws:states:::s3:getObject"
          ReaderConfig = { InputType = "MANIFEST" }
          Parameters = {
            "Bucket.$" = "$.manifestBucket"
            "Key.$"    = "$.manifestKey"
          }
        }
        ItemBatcher = {
          MaxItemsPerBatch = var.items_per_batch
          BatchInput       = { docket = "backfill", keysUrlEncoded = true }
        }
        MaxConcurrency = local.max_concurrency
        ItemProcessor = {
          ProcessorConfig = { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" }
          StartAt         = "Step"
          States = {
            Step = {
              Type       = "Task"
              Resource   = "arn:aws:states:::lambda:invoke"
              OutputPath = "$.Payload"
              Parameters = {
                FunctionName = var.function_arn
                "Payload.$"  = "$"
              }
              Retry = [{
                ErrorEquals     = ["States.ALL"]
                IntervalSeconds = 2
                BackoffRate     = 2
                MaxAttempts     = 6
                JitterStrategy  = "FULL"
              }]
              End = true
            }
          }
        }
        ResultWriter = {
          Resource = "arn:aws:states:::s3:putObject"
          Parameters = {
            Bucket = var.report_bucket_name
            Prefix = var.report_prefix
          }
        }
        End = true
      }
    }
  })
}

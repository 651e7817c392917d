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

# ---- S3 Batch Operations -------------------------------------------------------

data "aws_iam_policy_document" "batch_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["batchoperations.s3.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "batch_operations" {
  name               = "${var.name}-s3-batch-backfill"
  assume_role_policy = data.aws_iam_policy_document.batch_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "batch_operations" {
  statement {
    sid       = "InvokeDocket"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.function_arn, "${var.function_arn}:*"]
  }
  statement {
    sid       = "ReadManifest"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.inventory_arn}/*"]
  }
  statement {
    sid       = "WriteReport"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${local.report_arn}/${var.report_prefix}*"]
  }
}

resource "aws_iam_role_policy" "batch_operations" {
  name   = "invoke-docket"
  role   = aws_iam_role.batch_operations.id
  policy = data.aws_iam_policy_document.batch_operations.json
}

# ---- Step Functions Distributed Map over an inventory manifest ----------------

data "aws_iam_policy_document" "states_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name}-backfill-map"
  assume_role_policy = data.aws_iam_policy_document.states_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "InvokeDocket"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.function_arn, "${var.function_arn}:*"]
  }
  statement {
    sid       = "ReadInventory"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.inventory_arn}/*"]
  }
  statement {
    sid       = "WriteResults"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
    resources = ["${local.report_arn}/${var.report_prefix}*"]
  }
  # A Distributed Map runs its items as child executions of the same state machine.
  statement {
    sid       = "ChildExecutions"
    effect    = "Allow"
    actions   = ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"]
    resources = ["arn:${local.partition}:states:*:*:stateMachine:${var.name}-backfill", "arn:${local.partition}:states:*:*:execution:${var.name}-backfill:*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "docket-backfill-map"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_sfn_state_machine" "backfill" {
  name     = "${var.name}-backfill"
  role_arn = aws_iam_role.state_machine.arn
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

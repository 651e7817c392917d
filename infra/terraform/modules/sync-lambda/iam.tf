# The function's role: what the code sends, for the chosen delivery mode, and
# nothing else. infra/test checks the DynamoDB actions against the commands
# the cache backend sends.

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
  # and the sync could not tell "removed" from "denied"; the scheduled
  # reconcile lists the prefix. Not narrowed by an s3:prefix condition: a
  # GetObject request carries no s3:prefix, so such a grant would not turn its
  # 403 into a 404. ListBucket reveals key names only.
  statement {
    sid       = "ListBucketForNotFound"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }

  # The commands the cache backend sends (GetItem, Query, TransactWriteItems,
  # and for backfill and reconcile BatchGetItem and Scan).
  # TransactWriteItems is authorised per contained action: Put, Update and
  # Delete are the ones Docket's transactions contain (no ConditionCheck).
  statement {
    sid    = "CacheTable"
    effect = "Allow"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
    ]
    resources = concat([var.table_arn], local.index_arns)
  }

  # The on-failure destination of asynchronous invocations is sent with the
  # function's own role.
  statement {
    sid       = "DeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # SQS delivery: what the event source mapping polls with (the role's, not
  # Lambda's service principal).
  dynamic "statement" {
    for_each = aws_sqs_queue.events[*].arn
    content {
      sid       = "ReceiveEvents"
      effect    = "Allow"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [statement.value]
    }
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

  # A table encrypted with a customer managed key: DynamoDB uses the key on
  # the caller's behalf, so the caller needs these on it (AWS's DynamoDB
  # encryption guide), and only through DynamoDB in this region.
  dynamic "statement" {
    for_each = var.table_kms_key_arn == null ? [] : [var.table_kms_key_arn]
    content {
      sid       = "UseTableKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "docket-sync"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

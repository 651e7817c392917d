# Docket's DynamoDB table: keys, indexes, projections and TTL exactly as
# core's Table.definition (packages/core/src/Table.ts); infra/test checks it.

locals {
  # Table.summaryAttributes: the projection every index carries.
  summary_attributes = ["kind", "id", "version", "title", "status", "customers", "time", "expiresAt"]
  # Table.intentProjection: what the sparse intents index carries for the sweep.
  intent_attributes = ["intentWriter", "intentOp", "intentVersion", "intentEtag", "intentS3Key", "intentLease"]
}

resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "timePk"
    type = "S"
  }

  attribute {
    name = "timeSk"
    type = "S"
  }

  attribute {
    name = "custPk"
    type = "S"
  }

  attribute {
    name = "custSk"
    type = "S"
  }

  attribute {
    name = "statusPk"
    type = "S"
  }

  attribute {
    name = "statusSk"
    type = "S"
  }

  attribute {
    name = "intentPk"
    type = "S"
  }

  attribute {
    name = "intentSk"
    type = "S"
  }

  global_secondary_index {
    name               = "TimeRangeIndex"
    hash_key           = "timePk"
    range_key          = "timeSk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.summary_attributes
  }

  global_secondary_index {
    name               = "CustomerTimeIndex"
    hash_key           = "custPk"
    range_key          = "custSk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.summary_attributes
  }

  global_secondary_index {
    name               = "StatusTimeIndex"
    hash_key           = "statusPk"
    range_key          = "statusSk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.summary_attributes
  }

  # Sparse: only document items with a write intent carry intentPk. The sweep
  # (`docket heal`, the scheduled Lambda) reads it instead of scanning the table.
  global_secondary_index {
    name               = "IntentIndex"
    hash_key           = "intentPk"
    range_key          = "intentSk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.intent_attributes
  }

  # A retention window, not a deletion: DynamoDB removes expired items late,
  # and Docket filters `expiresAt` on every read itself.
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  # Without a key ARN: the AWS managed key (aws/dynamodb).
  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

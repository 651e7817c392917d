# Docket in front of an S3 bucket that already exists, with direct S3
# delivery: the bucket notification invokes the sync Lambda asynchronously
# (retries, then the dead-letter queue). Plus the table, the scheduled
# reconcile and the alarms. Walkthrough: docs/deployment.md.

data "aws_s3_bucket" "documents" {
  bucket = var.bucket_name
}

module "table" {
  source = "../../modules/table"

  name                = var.table_name
  deletion_protection = var.deletion_protection
  kms_key_arn         = var.table_kms_key_arn
  tags                = var.tags
}

module "sync" {
  source = "../../modules/sync-lambda"

  delivery                   = "s3"
  function_name              = var.function_name
  zip_path                   = var.lambda_zip_path
  table_name                 = module.table.name
  table_arn                  = module.table.arn
  table_kms_key_arn          = var.table_kms_key_arn
  bucket_name                = data.aws_s3_bucket.documents.id
  document_prefix            = var.document_prefix
  manage_bucket_notification = var.manage_bucket_notification
  reconcile_schedule         = var.reconcile_schedule
  reconcile_slices           = var.reconcile_slices
  memory_size                = var.lambda_memory_size
  architecture               = var.lambda_architecture
  runtime_version_arn        = var.lambda_runtime_version_arn
  timeout                    = var.lambda_timeout
  log_retention_days         = var.log_retention_days
  rps                        = var.rps
  ttl_days                   = var.ttl_days
  log_level                  = var.log_level
  tags                       = var.tags
}

module "alarms" {
  source = "../../modules/alarms"

  name_prefix         = var.function_name
  table_name          = module.table.name
  function_name       = module.sync.function_name
  dlq_name            = module.sync.dlq_name
  delivery            = module.sync.delivery
  schedule_group_name = module.sync.schedule_group_name
  alarm_sns_topic_arn = var.alarm_sns_topic_arn
  tags                = var.tags
}

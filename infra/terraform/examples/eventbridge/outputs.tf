output "table_name" {
  description = "DOCKET_TABLE for applications and the CLI."
  value       = module.table.name
}

output "table_arn" {
  description = "The table ARN (grant your application's role access to it and its indexes)."
  value       = module.table.arn
}

output "lambda_arn" {
  description = "The sync Lambda's ARN."
  value       = module.sync.function_arn
}

output "dlq_url" {
  description = "The dead-letter queue of failed asynchronous invocations (S3 events after the retries, events EventBridge could not deliver, and the scheduled runs; docs/runbook.md)."
  value       = module.sync.dlq_url
}

output "dlq_arn" {
  description = "The dead-letter queue ARN."
  value       = module.sync.dlq_arn
}

output "log_group_name" {
  description = "The sync Lambda's log group."
  value       = module.sync.log_group_name
}

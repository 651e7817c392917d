output "batch_operations_role_arn" {
  description = "The role to pass as --role-arn to `aws s3control create-job` (docs/backfill-at-scale.md)."
  value       = aws_iam_role.invoker["batch_operations"].arn
}

output "state_machine_arn" {
  description = "The Distributed Map backfill; start it with {\"manifestBucket\": ..., \"manifestKey\": \".../manifest.json\"}."
  value       = aws_sfn_state_machine.backfill.arn
}

output "max_concurrency" {
  description = "Lambda invocations the Map runs at once: table_write_budget / writes_per_second_per_invocation."
  value       = local.max_concurrency
}

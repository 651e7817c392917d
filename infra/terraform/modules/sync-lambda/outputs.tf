output "function_name" {
  description = "The Lambda function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "The Lambda function ARN."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "The function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "The function's log group (JSON logs and EMF metrics)."
  value       = aws_cloudwatch_log_group.this.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue of failed invocations."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

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

output "delivery" {
  description = "The delivery mode: s3, sqs or eventbridge."
  value       = var.delivery
}

output "dlq_url" {
  description = "URL of the dead-letter queue of failed asynchronous invocations (S3, EventBridge, schedule)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue of failed asynchronous invocations."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue of failed asynchronous invocations."
  value       = aws_sqs_queue.dlq.name
}

output "events_queue_url" {
  description = "SQS delivery: URL of the queue the bucket notifies (null in other modes)."
  value       = one(aws_sqs_queue.events[*].url)
}

output "events_queue_name" {
  description = "SQS delivery: name of the queue the bucket notifies (null in other modes)."
  value       = one(aws_sqs_queue.events[*].name)
}

output "events_dlq_url" {
  description = "SQS delivery: URL of the events dead-letter queue, where a message lands after sqs_max_receive_count receives (null in other modes)."
  value       = one(aws_sqs_queue.events_dlq[*].url)
}

output "events_dlq_name" {
  description = "SQS delivery: name of the events dead-letter queue (null in other modes)."
  value       = one(aws_sqs_queue.events_dlq[*].name)
}

output "event_source_mapping_uuid" {
  description = "SQS delivery: the event source mapping's UUID (its metrics' EventSourceMappingUUID dimension; null in other modes)."
  value       = one(aws_lambda_event_source_mapping.sqs[*].uuid)
}

output "event_rule_name" {
  description = "EventBridge delivery: the rule's name (null in other modes)."
  value       = one(aws_cloudwatch_event_rule.s3[*].name)
}

output "schedule_group_name" {
  description = "The EventBridge Scheduler group of the reconcile and heal schedules (null without schedules)."
  value       = one(aws_scheduler_schedule_group.this[*].name)
}

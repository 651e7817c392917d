output "alarm_arns" {
  description = "ARNs of the alarms, by name."
  value = {
    cache_hit_rate     = aws_cloudwatch_metric_alarm.cache_hit_rate.arn
    query_latency_p99  = aws_cloudwatch_metric_alarm.query_latency_p99.arn
    lambda_error_rate  = aws_cloudwatch_metric_alarm.lambda_error_rate.arn
    dlq_depth          = aws_cloudwatch_metric_alarm.dlq_depth.arn
    dynamodb_throttles = aws_cloudwatch_metric_alarm.dynamodb_throttles.arn
    reconcile_needed   = aws_cloudwatch_metric_alarm.reconcile_needed.arn
  }
}

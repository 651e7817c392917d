output "alarm_arns" {
  description = "ARNs of the alarms, by name (those of other delivery modes are absent)."
  value = merge(
    {
      cache_hit_rate                = aws_cloudwatch_metric_alarm.cache_hit_rate.arn
      query_latency_p99             = aws_cloudwatch_metric_alarm.query_latency_p99.arn
      lambda_error_rate             = aws_cloudwatch_metric_alarm.lambda_error_rate.arn
      dlq_depth                     = aws_cloudwatch_metric_alarm.dlq_depth.arn
      dlq_age                       = aws_cloudwatch_metric_alarm.dlq_age.arn
      destination_delivery_failures = aws_cloudwatch_metric_alarm.destination_delivery_failures.arn
      dynamodb_throttles            = aws_cloudwatch_metric_alarm.dynamodb_throttles.arn
      reconcile_needed              = aws_cloudwatch_metric_alarm.reconcile_needed.arn
    },
    { for name, alarm in {
      events_dlq_depth            = aws_cloudwatch_metric_alarm.events_dlq_depth
      events_dlq_age              = aws_cloudwatch_metric_alarm.events_dlq_age
      events_queue_age            = aws_cloudwatch_metric_alarm.events_queue_age
      event_source_mapping_errors = aws_cloudwatch_metric_alarm.event_source_mapping_errors
      eventbridge_failures        = aws_cloudwatch_metric_alarm.eventbridge_failures
      schedule_failures           = aws_cloudwatch_metric_alarm.schedule_failures
    } : name => alarm[0].arn if length(alarm) > 0 },
  )
}

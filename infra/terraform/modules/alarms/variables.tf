variable "name_prefix" {
  description = "Prefix of the alarm names."
  type        = string
  default     = "docket"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.name_prefix))
    error_message = "name_prefix must be 1-64 letters, digits, '-', '_' or '.'."
  }
}

variable "table_name" {
  description = "The Docket table: the Table dimension of Docket's metrics and TableName of AWS/DynamoDB's."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be a DynamoDB table name."
  }
}

variable "function_name" {
  description = "The sync Lambda's name (AWS/Lambda FunctionName)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be a Lambda function name."
  }
}

variable "dlq_name" {
  description = "The dead-letter queue's name (AWS/SQS QueueName)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,80}$", var.dlq_name))
    error_message = "dlq_name must be an SQS queue name."
  }
}

variable "index_names" {
  description = "The table's global secondary indexes (their throttles are reported under GlobalSecondaryIndexName)."
  type        = list(string)
  default     = ["TimeRangeIndex", "CustomerTimeIndex", "StatusTimeIndex", "IntentIndex"]

  validation {
    condition     = alltrue([for name in var.index_names : can(regex("^[A-Za-z0-9_.-]{3,255}$", name))])
    error_message = "index_names must be DynamoDB index names."
  }
}

variable "delivery" {
  description = "The sync-lambda module's delivery mode (its output `delivery`): s3, sqs or eventbridge."
  type        = string
  default     = "sqs"

  validation {
    condition     = contains(["s3", "sqs", "eventbridge"], var.delivery)
    error_message = "delivery must be \"s3\", \"sqs\" or \"eventbridge\"."
  }
}

variable "events_queue_name" {
  description = "SQS delivery: the events queue's name (sync-lambda output events_queue_name)."
  type        = string
  default     = null

  validation {
    condition     = var.events_queue_name == null || can(regex("^[A-Za-z0-9_-]{1,80}$", var.events_queue_name))
    error_message = "events_queue_name must be an SQS queue name or null."
  }
}

variable "events_dlq_name" {
  description = "SQS delivery: the events dead-letter queue's name (sync-lambda output events_dlq_name)."
  type        = string
  default     = null

  validation {
    condition     = var.events_dlq_name == null || can(regex("^[A-Za-z0-9_-]{1,80}$", var.events_dlq_name))
    error_message = "events_dlq_name must be an SQS queue name or null."
  }
}

variable "event_source_mapping_uuid" {
  description = "SQS delivery: the event source mapping's UUID (sync-lambda output event_source_mapping_uuid)."
  type        = string
  default     = null

  validation {
    condition     = var.event_source_mapping_uuid == null || can(regex("^[0-9a-f-]{36}$", var.event_source_mapping_uuid))
    error_message = "event_source_mapping_uuid must be a UUID or null."
  }
}

variable "event_rule_name" {
  description = "EventBridge delivery: the rule's name (sync-lambda output event_rule_name)."
  type        = string
  default     = null

  validation {
    condition     = var.event_rule_name == null || can(regex("^[A-Za-z0-9._-]{1,64}$", var.event_rule_name))
    error_message = "event_rule_name must be an EventBridge rule name or null."
  }
}

variable "schedule_group_name" {
  description = "The schedule group of the reconcile and heal schedules (sync-lambda output schedule_group_name); null without schedules."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_group_name == null || can(regex("^[A-Za-z0-9._-]{1,64}$", var.schedule_group_name))
    error_message = "schedule_group_name must be a schedule group name or null."
  }
}

variable "dlq_age_threshold_seconds" {
  description = "Alarm when a dead-letter queue's oldest message is older than this (messages expire after 14 days)."
  type        = number
  default     = 259200

  validation {
    condition     = var.dlq_age_threshold_seconds >= 300 && var.dlq_age_threshold_seconds < 1209600
    error_message = "dlq_age_threshold_seconds must be at least 300 and under 14 days (1209600)."
  }
}

variable "events_queue_age_threshold_seconds" {
  description = "SQS delivery: alarm when the events queue's oldest message waits longer than this."
  type        = number
  default     = 900

  validation {
    condition     = var.events_queue_age_threshold_seconds >= 60
    error_message = "events_queue_age_threshold_seconds must be at least 60."
  }
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when an alarm fires or recovers; null for no notifications."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\\.fifo)?$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN or null."
  }
}

variable "period" {
  description = "Alarm period in seconds (Docket's metrics are 60-second resolution)."
  type        = number
  default     = 300

  validation {
    condition     = var.period >= 60 && var.period % 60 == 0
    error_message = "period must be a multiple of 60 seconds."
  }
}

variable "evaluation_periods" {
  description = "Consecutive breaching periods before an alarm fires (the alarms on lost events fire at once)."
  type        = number
  default     = 3

  validation {
    condition     = var.evaluation_periods >= 1 && var.evaluation_periods <= 24
    error_message = "evaluation_periods must be between 1 and 24."
  }
}

variable "hit_rate_threshold" {
  description = "Alarm when the cache hit rate (%) falls under this."
  type        = number
  default     = 80

  validation {
    condition     = var.hit_rate_threshold > 0 && var.hit_rate_threshold <= 100
    error_message = "hit_rate_threshold must be a percentage in (0, 100]."
  }
}

variable "hit_rate_min_reads" {
  description = "Periods with fewer cache reads than this do not count against the hit rate."
  type        = number
  default     = 100

  validation {
    condition     = var.hit_rate_min_reads >= 1
    error_message = "hit_rate_min_reads must be at least 1."
  }
}

variable "query_p99_threshold_ms" {
  description = "Alarm when the query latency p99 exceeds this many milliseconds (500 is a histogram boundary, so it is decided exactly)."
  type        = number
  default     = 500

  validation {
    condition     = var.query_p99_threshold_ms > 0
    error_message = "query_p99_threshold_ms must be positive."
  }
}

variable "query_p99_min_samples" {
  description = "Periods with fewer queries than this do not count against the p99 (a p99 of a few samples is one slow query)."
  type        = number
  default     = 100

  validation {
    condition     = var.query_p99_min_samples >= 1
    error_message = "query_p99_min_samples must be at least 1."
  }
}

variable "lambda_error_rate_min_invocations" {
  description = "Periods with fewer sync Lambda invocations than this do not count against the error rate."
  type        = number
  default     = 10

  validation {
    condition     = var.lambda_error_rate_min_invocations >= 1
    error_message = "lambda_error_rate_min_invocations must be at least 1."
  }
}

variable "lambda_error_rate_threshold" {
  description = "Alarm when the sync Lambda's error rate (%) exceeds this."
  type        = number
  default     = 1

  validation {
    condition     = var.lambda_error_rate_threshold >= 0 && var.lambda_error_rate_threshold < 100
    error_message = "lambda_error_rate_threshold must be a percentage in [0, 100)."
  }
}

variable "throttle_threshold" {
  description = "Alarm when more throttled DynamoDB requests than this happen per period."
  type        = number
  default     = 10

  validation {
    condition     = var.throttle_threshold >= 0
    error_message = "throttle_threshold must be >= 0."
  }
}

variable "tags" {
  description = "Cost allocation tags."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256 && !startswith(k, "aws:")])
    error_message = "Tag keys are at most 128 characters and must not start with 'aws:'; values at most 256."
  }
}

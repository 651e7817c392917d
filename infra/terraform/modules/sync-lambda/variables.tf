variable "function_name" {
  description = "Name of the Lambda function (also names its role, log group and dead-letter queue)."
  type        = string
  default     = "docket-sync"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,59}$", var.function_name))
    error_message = "function_name must be 1-59 letters, digits, '-' or '_' (the role and queue add suffixes)."
  }
}

variable "zip_path" {
  description = "Path of the Lambda zip built by `npm run package -w @docket/lambda` (packages/lambda/build/handler.zip)."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must point to the .zip built by `npm run package -w @docket/lambda`."
  }
}

variable "table_name" {
  description = "The Docket table (DOCKET_TABLE)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be a DynamoDB table name."
  }
}

variable "table_arn" {
  description = "ARN of the Docket table; the role may use it and its three indexes only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN."
  }
}

variable "bucket_name" {
  description = "The existing bucket holding the documents (DOCKET_BUCKET)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be an S3 bucket name."
  }
}

variable "document_prefix" {
  description = "Key prefix of the documents (DOCKET_PREFIX): empty, or ending with '/'."
  type        = string
  default     = ""

  validation {
    condition     = var.document_prefix == "" || (endswith(var.document_prefix, "/") && !startswith(var.document_prefix, "/"))
    error_message = "document_prefix must be empty or end with '/' (and not start with '/')."
  }
}

variable "table_index_names" {
  description = "The table's global secondary indexes the role may query (core's Table.definition; the table module's index names)."
  type        = list(string)
  default     = ["TimeRangeIndex", "CustomerTimeIndex", "StatusTimeIndex", "IntentIndex"]

  validation {
    condition     = length(var.table_index_names) > 0 && alltrue([for name in var.table_index_names : can(regex("^[A-Za-z0-9_.-]{3,255}$", name))])
    error_message = "table_index_names must be one or more DynamoDB index names."
  }
}

variable "table_kms_key_arn" {
  description = "Customer managed KMS key the table is encrypted with, if any (the table module's kms_key_arn); grants the role its use through DynamoDB."
  type        = string
  default     = null

  validation {
    condition     = var.table_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.table_kms_key_arn))
    error_message = "table_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or null."
  }
}

variable "bucket_kms_key_arn" {
  description = "KMS key of the bucket's SSE-KMS encryption, if any (grants kms:Decrypt on it)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.bucket_kms_key_arn))
    error_message = "bucket_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "delivery" {
  description = "How S3 changes reach the function: \"sqs\" (recommended: a queue with batches, partial retries and a dead-letter queue), \"eventbridge\" (the bucket's EventBridge events, a rule and a target) or \"s3\" (direct notification, asynchronous invocation)."
  type        = string
  default     = "sqs"

  validation {
    condition     = contains(["s3", "sqs", "eventbridge"], var.delivery)
    error_message = "delivery must be \"s3\", \"sqs\" or \"eventbridge\"."
  }
}

variable "sqs_batch_size" {
  description = "SQS delivery: messages per invocation (1-10000; above 10 needs sqs_batching_window_seconds >= 1)."
  type        = number
  default     = 10

  validation {
    condition     = var.sqs_batch_size >= 1 && var.sqs_batch_size <= 10000 && floor(var.sqs_batch_size) == var.sqs_batch_size
    error_message = "sqs_batch_size must be a whole number from 1 to 10000."
  }
}

variable "sqs_batching_window_seconds" {
  description = "SQS delivery: how long the event source mapping gathers a batch (0-300 seconds)."
  type        = number
  default     = 0

  validation {
    condition     = var.sqs_batching_window_seconds >= 0 && var.sqs_batching_window_seconds <= 300 && floor(var.sqs_batching_window_seconds) == var.sqs_batching_window_seconds
    error_message = "sqs_batching_window_seconds must be a whole number from 0 to 300."
  }
}

variable "sqs_maximum_concurrency" {
  description = "SQS delivery: most concurrent invocations the event source mapping makes (2-1000); null for no limit but the function's."
  type        = number
  default     = null

  validation {
    condition     = var.sqs_maximum_concurrency == null || try(var.sqs_maximum_concurrency >= 2 && var.sqs_maximum_concurrency <= 1000 && floor(var.sqs_maximum_concurrency) == var.sqs_maximum_concurrency, false)
    error_message = "sqs_maximum_concurrency must be a whole number from 2 to 1000, or null."
  }
}

variable "sqs_max_receive_count" {
  description = "SQS delivery: receives of a message before it moves to the events dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.sqs_max_receive_count >= 1 && var.sqs_max_receive_count <= 1000 && floor(var.sqs_max_receive_count) == var.sqs_max_receive_count
    error_message = "sqs_max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "sqs_message_retention_seconds" {
  description = "SQS delivery: how long an unprocessed event stays in the queue (60 s to 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.sqs_message_retention_seconds >= 60 && var.sqs_message_retention_seconds <= 1209600 && floor(var.sqs_message_retention_seconds) == var.sqs_message_retention_seconds
    error_message = "sqs_message_retention_seconds must be a whole number from 60 to 1209600."
  }
}

variable "reconcile_schedule" {
  description = "EventBridge Scheduler expression of the scheduled reconcile, one run per slice (e.g. \"rate(6 hours)\", \"cron(0 3 * * ? *)\"); null for none."
  type        = string
  default     = "rate(6 hours)"

  validation {
    condition     = var.reconcile_schedule == null || can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.reconcile_schedule))
    error_message = "reconcile_schedule must be rate(N unit), cron(...) or null."
  }
}

variable "heal_schedule" {
  description = "EventBridge Scheduler expression of the intents sweep ({\"docket\":\"heal\"}: resolves write intents whose writer died), e.g. \"rate(1 minute)\"; null for none."
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = var.heal_schedule == null || can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.heal_schedule))
    error_message = "heal_schedule must be rate(N unit), cron(...) or null."
  }
}

variable "reconcile_slices" {
  description = "Sub-prefixes under document_prefix, each reconciled by its own scheduled run (\"\" is the whole prefix), e.g. [\"changes/\", \"announcements/\"]. Size them so one run finishes within the timeout."
  type        = list(string)
  default     = [""]

  validation {
    condition     = length(var.reconcile_slices) >= 1 && length(var.reconcile_slices) <= 100 && length(distinct(var.reconcile_slices)) == length(var.reconcile_slices) && alltrue([for s in var.reconcile_slices : !startswith(s, "/")])
    error_message = "reconcile_slices must be 1-100 distinct sub-prefixes, none starting with '/'."
  }
}

variable "reconcile_fix" {
  description = "Whether the scheduled reconcile repairs the drift it finds (false: it only reports)."
  type        = bool
  default     = true
}

variable "manage_bucket_notification" {
  description = "Create the bucket's notification configuration (it replaces any existing one; see the deployment guide)."
  type        = bool
  default     = true
}

variable "memory_size" {
  description = "Lambda memory in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "architecture" {
  description = "The function's instruction set, \"arm64\" or \"x86_64\". The zip's compile cache is used only on the architecture (and Node version) it was packaged on (docs/deployment.md, \"The compile cache\")."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "runtime_version_arn" {
  description = "Pins the nodejs24.x runtime version (update_runtime_on = \"Manual\"), so its Node version cannot move under the zip's compile cache: the ARN from the function's INIT_START log line or `aws lambda get-function-configuration` (RuntimeVersionConfig). null: the runtime moves only when the function is updated (\"FunctionUpdate\")."
  type        = string
  default     = null

  validation {
    condition     = var.runtime_version_arn == null ? true : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+::runtime:[0-9a-f]+$", var.runtime_version_arn))
    error_message = "runtime_version_arn must be a Lambda runtime version ARN (arn:aws:lambda:REGION::runtime:HASH), or null."
  }
}

variable "node_heap_mb" {
  description = "The Node heap limit (--max-old-space-size, MB) set through NODE_OPTIONS; null: 60% of memory_size (at least 64)."
  type        = number
  default     = null

  validation {
    condition     = var.node_heap_mb == null ? true : (var.node_heap_mb >= 64 && floor(var.node_heap_mb) == var.node_heap_mb)
    error_message = "node_heap_mb must be a whole number of MB, at least 64 (or null)."
  }
}

variable "timeout" {
  description = "Lambda timeout in seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 3 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency (-1: unreserved). Total DynamoDB rate is at most concurrency x rps."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency == -1 || (var.reserved_concurrency >= 0 && floor(var.reserved_concurrency) == var.reserved_concurrency)
    error_message = "reserved_concurrency must be -1 or a whole number >= 0."
  }
}

variable "async_retry_attempts" {
  description = "Retries Lambda makes of a failed asynchronous invocation before the dead-letter queue."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.async_retry_attempts)
    error_message = "async_retry_attempts must be 0, 1 or 2."
  }
}

variable "max_event_age_seconds" {
  description = "Oldest event age Lambda still processes; older ones go to the dead-letter queue."
  type        = number
  default     = 21600

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 21600
    error_message = "max_event_age_seconds must be between 60 and 21600."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key to encrypt the log group with; null for the default encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "rps" {
  description = "DOCKET_RPS: DynamoDB requests per second per container."
  type        = number
  default     = 200

  validation {
    condition     = var.rps > 0
    error_message = "rps must be positive."
  }
}

variable "burst" {
  description = "DOCKET_BURST: token bucket size; null means rps."
  type        = number
  default     = null

  validation {
    condition     = var.burst == null || try(var.burst > 0, false)
    error_message = "burst must be positive or null."
  }
}

variable "ttl_days" {
  description = "DOCKET_TTL_DAYS: cache retention window from a document's indexing time."
  type        = number
  default     = 365

  validation {
    condition     = var.ttl_days >= 1
    error_message = "ttl_days must be at least 1."
  }
}

variable "dry_run" {
  description = "DOCKET_DRY_RUN: log what the sync would change and change nothing."
  type        = bool
  default     = false
}

variable "log_level" {
  description = "DOCKET_LOG_LEVEL."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["all", "trace", "debug", "info", "warning", "error", "fatal", "none"], var.log_level)
    error_message = "log_level must be one of all, trace, debug, info, warning, error, fatal, none."
  }
}

variable "max_attempts" {
  description = "DOCKET_MAX_ATTEMPTS: attempts per AWS call for retryable failures."
  type        = number
  default     = 5

  validation {
    condition     = var.max_attempts >= 1 && floor(var.max_attempts) == var.max_attempts
    error_message = "max_attempts must be a whole number >= 1."
  }
}

variable "attempt_timeout_ms" {
  description = "DOCKET_ATTEMPT_TIMEOUT: milliseconds one AWS call attempt may wait for its answer before it is aborted and retried."
  type        = number
  default     = 30000

  validation {
    condition     = var.attempt_timeout_ms >= 1 && floor(var.attempt_timeout_ms) == var.attempt_timeout_ms
    error_message = "attempt_timeout_ms must be a whole number of milliseconds >= 1."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the function's role, if your account requires one."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN or null."
  }
}

variable "tags" {
  description = "Cost allocation tags for every resource."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256 && !startswith(k, "aws:")])
    error_message = "Tag keys are at most 128 characters and must not start with 'aws:'; values at most 256."
  }
}

variable "tombstone_ttl_seconds" {
  description = "DOCKET_TOMBSTONE_TTL_SECONDS: how long a tombstone after an S3 delete blocks late creates for the key."
  type        = number
  default     = 3600

  validation {
    condition     = var.tombstone_ttl_seconds >= 60 && floor(var.tombstone_ttl_seconds) == var.tombstone_ttl_seconds
    error_message = "tombstone_ttl_seconds must be a whole number of seconds >= 60."
  }
}

variable "consumed_capacity" {
  description = "DOCKET_CONSUMED_CAPACITY: ask DynamoDB for each request's consumed capacity and log it (consumedCapacity on the cache's log lines). Off by default: the table's CloudWatch metrics carry its consumption."
  type        = bool
  default     = false
}

variable "event_concurrency" {
  description = "DOCKET_EVENT_CONCURRENCY: records of one invocation processed in parallel."
  type        = number
  default     = 16

  validation {
    condition     = var.event_concurrency >= 1 && var.event_concurrency <= 256 && floor(var.event_concurrency) == var.event_concurrency
    error_message = "event_concurrency must be a whole number from 1 to 256."
  }
}

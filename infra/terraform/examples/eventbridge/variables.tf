variable "region" {
  description = "AWS region of the bucket (the table and the Lambda are created there too)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as eu-west-1."
  }
}

variable "bucket_name" {
  description = "The existing bucket with the documents."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be an S3 bucket name."
  }
}

variable "document_prefix" {
  description = "Key prefix of the documents in the bucket: empty or ending with '/'."
  type        = string
  default     = ""

  validation {
    condition     = var.document_prefix == "" || endswith(var.document_prefix, "/")
    error_message = "document_prefix must be empty or end with '/'."
  }
}

variable "table_name" {
  description = "Name of the Docket table to create."
  type        = string
  default     = "docket"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 letters, digits, '_', '-' or '.'."
  }
}

variable "table_kms_key_arn" {
  description = "Customer managed KMS key for the table; null for the AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.table_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.table_kms_key_arn))
    error_message = "table_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "deletion_protection" {
  description = "Protect the table from deletion."
  type        = bool
  default     = true
}

variable "function_name" {
  description = "Name of the sync Lambda (also prefixes the alarms)."
  type        = string
  default     = "docket-sync"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,59}$", var.function_name))
    error_message = "function_name must be 1-59 letters, digits, '-' or '_'."
  }
}

variable "lambda_zip_path" {
  description = "The zip from `npm run package -w @docket/lambda`."
  type        = string
  default     = "../../../../packages/lambda/build/handler.zip"

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must be the .zip built by `npm run package -w @docket/lambda`."
  }
}

variable "manage_bucket_notification" {
  description = "Let Terraform own the bucket's notification configuration (false if the bucket already has notifications)."
  type        = bool
  default     = true
}

variable "reconcile_schedule" {
  description = "When the scheduled reconcile runs (EventBridge Scheduler expression); null for never."
  type        = string
  default     = "rate(6 hours)"

  validation {
    condition     = var.reconcile_schedule == null || can(regex("^(rate|cron)\\(.+\\)$", var.reconcile_schedule))
    error_message = "reconcile_schedule must be rate(...), cron(...) or null."
  }
}

variable "reconcile_slices" {
  description = "Sub-prefixes reconciled by one scheduled run each (\"\" is the whole prefix)."
  type        = list(string)
  default     = [""]

  validation {
    condition     = length(var.reconcile_slices) >= 1
    error_message = "reconcile_slices must name at least one slice."
  }
}

variable "lambda_memory_size" {
  description = "Lambda memory (MB)."
  type        = number
  default     = 512

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be between 128 and 10240."
  }
}

variable "lambda_architecture" {
  description = "The function's instruction set, \"arm64\" or \"x86_64\": package the zip on it for its compile cache to be used (docs/deployment.md, \"The compile cache\")."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "lambda_runtime_version_arn" {
  description = "Pins the nodejs24.x runtime version (update_runtime_on = \"Manual\") so its Node version stays the one the zip's compile cache was built with; null: the runtime moves only on function updates."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_runtime_version_arn == null ? true : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+::runtime:[0-9a-f]+$", var.lambda_runtime_version_arn))
    error_message = "lambda_runtime_version_arn must be a Lambda runtime version ARN (arn:aws:lambda:REGION::runtime:HASH), or null."
  }
}

variable "lambda_timeout" {
  description = "Lambda timeout (seconds)."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout >= 3 && var.lambda_timeout <= 900
    error_message = "lambda_timeout must be between 3 and 900."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts."
  }
}

variable "rps" {
  description = "DynamoDB requests per second per Lambda container (DOCKET_RPS)."
  type        = number
  default     = 200

  validation {
    condition     = var.rps > 0
    error_message = "rps must be positive."
  }
}

variable "ttl_days" {
  description = "Cache retention window in days (DOCKET_TTL_DAYS)."
  type        = number
  default     = 365

  validation {
    condition     = var.ttl_days >= 1
    error_message = "ttl_days must be at least 1."
  }
}

variable "log_level" {
  description = "DOCKET_LOG_LEVEL of the Lambda."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["all", "trace", "debug", "info", "warning", "error", "fatal", "none"], var.log_level)
    error_message = "log_level must be one of all, trace, debug, info, warning, error, fatal, none."
  }
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic for alarm notifications; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN or null."
  }
}

variable "tags" {
  description = "Cost allocation tags on every resource (e.g. { CostCenter = \"1234\", Team = \"platform\" })."
  type        = map(string)
  default     = { Application = "docket" }

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256 && !startswith(k, "aws:")])
    error_message = "Tag keys are at most 128 characters and must not start with 'aws:'; values at most 256."
  }
}

variable "name" {
  description = "Name prefix of the backfill resources (role, state machine)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 letters, digits, '-' or '_'."
  }
}

variable "function_arn" {
  description = "ARN of the Docket Lambda (the sync-lambda module's function) that runs the backfill step."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.function_arn))
    error_message = "function_arn must be a Lambda function ARN."
  }
}

variable "bucket_name" {
  description = "The document bucket (the objects S3 Batch Operations hands to the Lambda)."
  type        = string
}

variable "inventory_bucket_name" {
  description = "The bucket the S3 Inventory reports (manifest.json and its files) are delivered to."
  type        = string
}

variable "report_bucket_name" {
  description = "Where Batch Operations completion reports and the Distributed Map's results go."
  type        = string
}

variable "report_prefix" {
  description = "Key prefix of the reports in report_bucket_name."
  type        = string
  default     = "docket-backfill/"
}

variable "items_per_batch" {
  description = "Objects per Lambda invocation of the Distributed Map (a few hundred: BatchGetItem reads 100 keys a request)."
  type        = number
  default     = 300
  validation {
    condition     = var.items_per_batch >= 1 && var.items_per_batch <= 1000
    error_message = "items_per_batch must be 1-1000."
  }
}

variable "table_write_budget" {
  description = "Write requests per second the table may take from the backfill; the Map's concurrency is derived from it."
  type        = number
  default     = 1000
  validation {
    condition     = var.table_write_budget >= 1
    error_message = "table_write_budget must be at least 1."
  }
}

variable "writes_per_second_per_invocation" {
  description = "Writes per second one invocation sends at most (its DOCKET_RPS): concurrency = budget / this."
  type        = number
  default     = 50
  validation {
    condition     = var.writes_per_second_per_invocation >= 1
    error_message = "writes_per_second_per_invocation must be at least 1."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

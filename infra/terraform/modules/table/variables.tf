variable "name" {
  description = "Name of the DynamoDB table (DOCKET_TABLE)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "The table name must be 3-255 characters of letters, digits, '_', '-' or '.'."
  }
}

variable "deletion_protection" {
  description = "Refuse DeleteTable while true. Turn off (and apply) before destroying on purpose."
  type        = bool
  default     = true
}

variable "point_in_time_recovery" {
  description = "Continuous backups (35 days of point-in-time restore)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for encryption at rest; null uses the AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or null."
  }
}

variable "tags" {
  description = "Cost allocation tags (e.g. CostCenter, Team)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256 && !startswith(k, "aws:")])
    error_message = "Tag keys are at most 128 characters and must not start with 'aws:'; values at most 256."
  }
}

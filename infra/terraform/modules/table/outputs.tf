output "name" {
  description = "The table name (DOCKET_TABLE)."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "The table ARN."
  value       = aws_dynamodb_table.this.arn
}

output "index_arns" {
  description = "ARNs of the three global secondary indexes."
  value       = [for index in aws_dynamodb_table.this.global_secondary_index : "${aws_dynamodb_table.this.arn}/index/${index.name}"]
}

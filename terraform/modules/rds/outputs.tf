output "endpoint" {
  description = "host:port of the instance."
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "Host name of the instance (DB_HOST)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance (DB_PORT)."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the database (DB_NAME)."
  value       = aws_db_instance.this.db_name
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the master credentials (JSON with username and password)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}

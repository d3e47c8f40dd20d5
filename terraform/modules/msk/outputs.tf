output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_tls" {
  description = "Comma-separated host:port list of the TLS listeners (KAFKA_BROKERS for the services)."
  value       = aws_msk_cluster.this.bootstrap_brokers_tls
}

output "security_group_id" {
  description = "Security group of the brokers."
  value       = aws_security_group.this.id
}

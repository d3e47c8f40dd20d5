output "bucket_name" {
  description = "Bucket that holds the init action, the Flink job and the connector jar."
  value       = google_storage_bucket.this.name
}

output "init_script_uri" {
  description = "gs:// URI of the initialization action."
  value       = "gs://${google_storage_bucket.this.name}/${google_storage_bucket_object.init_script.name}"
}

output "flink_job_uri" {
  description = "gs:// URI of the uploaded Flink job (null when flink_job_path is null)."
  value       = var.flink_job_path == null ? null : "gs://${google_storage_bucket.this.name}/${local.job_object_name}"
}

output "network_name" {
  description = "Name of the VPC network."
  value       = google_compute_network.this.name
}

output "subnetwork_id" {
  description = "ID of the Dataproc subnet."
  value       = google_compute_subnetwork.this.id
}

output "service_account_email" {
  description = "Service account of the Dataproc VMs."
  value       = google_service_account.dataproc.email
}

output "dataproc_cluster_name" {
  description = "Name of the Dataproc cluster (null when create_dataproc is false)."
  value       = try(google_dataproc_cluster.this[0].name, null)
}

output "region" {
  description = "Region of the stack."
  value       = var.region
}

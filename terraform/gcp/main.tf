provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  bucket_name      = "${var.project_id}-${var.name_prefix}-flink"
  init_script_name = "scripts/flink-init.sh"
  job_object_name  = var.flink_job_path == null ? null : "flink/${basename(var.flink_job_path)}"
  jar_object_name  = var.flink_connector_jar_path == null ? null : "jars/${basename(var.flink_connector_jar_path)}"
}

################################################################################
# Network: one VPC, one private subnet, optional Cloud NAT
################################################################################

resource "google_compute_network" "this" {
  name                    = var.name_prefix
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "this" {
  #checkov:skip=CKV_GCP_76:IPv4-only subnet; Private Google Access is on and Dataproc does not use IPv6.
  name                     = "${var.name_prefix}-dataproc"
  network                  = google_compute_network.this.id
  region                   = var.region
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Dataproc nodes talk to each other on all ports; nothing else may come in.
resource "google_compute_firewall" "internal" {
  name          = "${var.name_prefix}-dataproc-internal"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = [var.subnet_cidr]

  allow {
    protocol = "tcp"
  }

  allow {
    protocol = "udp"
  }

  allow {
    protocol = "icmp"
  }
}

resource "google_compute_router" "this" {
  count = var.create_nat ? 1 : 0

  name    = var.name_prefix
  network = google_compute_network.this.id
  region  = var.region
}

resource "google_compute_router_nat" "this" {
  count = var.create_nat ? 1 : 0

  name                               = var.name_prefix
  router                             = google_compute_router.this[0].name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

################################################################################
# Bucket: init action, Flink job, connector jar
################################################################################

resource "google_storage_bucket" "this" {
  #checkov:skip=CKV_GCP_62:Access logs would need a second bucket; Cloud Audit Logs (data access) cover this bucket in the real project.
  name                        = local.bucket_name
  location                    = var.region
  force_destroy               = var.force_destroy
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  versioning {
    enabled = true
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]

    content {
      default_kms_key_name = encryption.value
    }
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
    }

    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_object" "init_script" {
  name   = local.init_script_name
  bucket = google_storage_bucket.this.name
  source = "${path.module}/scripts/flink-init.sh"
}

resource "google_storage_bucket_object" "flink_job" {
  count = var.flink_job_path == null ? 0 : 1

  name   = local.job_object_name
  bucket = google_storage_bucket.this.name
  source = var.flink_job_path
}

resource "google_storage_bucket_object" "connector_jar" {
  count = var.flink_connector_jar_path == null ? 0 : 1

  name   = local.jar_object_name
  bucket = google_storage_bucket.this.name
  source = var.flink_connector_jar_path
}

################################################################################
# Service account of the Dataproc VMs: dataproc.worker + read this bucket
################################################################################

resource "google_service_account" "dataproc" {
  account_id   = "${var.name_prefix}-dataproc"
  display_name = "Dataproc VMs of ${var.name_prefix} (Flink analytics)"
}

# roles/dataproc.worker is the minimal role for a Dataproc VM service account
# (staging bucket access, log and metric writing, agent API).
resource "google_project_iam_member" "dataproc_worker" {
  project = var.project_id
  role    = "roles/dataproc.worker"
  member  = "serviceAccount:${google_service_account.dataproc.email}"
}

resource "google_storage_bucket_iam_member" "dataproc_read" {
  bucket = google_storage_bucket.this.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.dataproc.email}"
}

################################################################################
# Dataproc with the Flink optional component
################################################################################

resource "google_dataproc_cluster" "this" {
  count = var.create_dataproc ? 1 : 0

  name   = "${var.name_prefix}-flink"
  region = var.region
  labels = var.labels

  cluster_config {
    gce_cluster_config {
      subnetwork             = google_compute_subnetwork.this.id
      internal_ip_only       = true
      service_account        = google_service_account.dataproc.email
      service_account_scopes = ["cloud-platform"]
      tags                   = ["${var.name_prefix}-dataproc"]

      metadata = {
        "flink-bucket"           = google_storage_bucket.this.name
        "flink-job-object"       = coalesce(local.job_object_name, "")
        "flink-jar-object"       = coalesce(local.jar_object_name, "")
        "kafka-brokers"          = var.kafka_brokers
        "block-project-ssh-keys" = "true"
      }

      shielded_instance_config {
        enable_secure_boot          = true
        enable_vtpm                 = true
        enable_integrity_monitoring = true
      }
    }

    master_config {
      num_instances = 1
      machine_type  = var.master_machine_type

      disk_config {
        boot_disk_size_gb = var.boot_disk_size_gb
      }
    }

    worker_config {
      num_instances = var.worker_count
      machine_type  = var.worker_machine_type

      disk_config {
        boot_disk_size_gb = var.boot_disk_size_gb
      }
    }

    software_config {
      image_version       = var.dataproc_image_version
      optional_components = ["FLINK"]

      override_properties = {
        "flink:taskmanager.numberOfTaskSlots"    = "2"
        "flink:execution.checkpointing.interval" = "10s"
      }
    }

    initialization_action {
      script      = "gs://${google_storage_bucket.this.name}/${google_storage_bucket_object.init_script.name}"
      timeout_sec = 600
    }

    dynamic "encryption_config" {
      for_each = var.kms_key_name == null ? [] : [var.kms_key_name]

      content {
        kms_key_name = encryption_config.value
      }
    }

    endpoint_config {
      enable_http_port_access = false
    }
  }

  depends_on = [
    google_project_iam_member.dataproc_worker,
    google_storage_bucket_iam_member.dataproc_read,
  ]
}

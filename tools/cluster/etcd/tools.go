//go:build tools

// Package tools pins the etcd commands scripts/install-cluster-tools.sh builds in this module.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)

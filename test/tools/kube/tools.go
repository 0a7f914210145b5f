//go:build tools

// Package kube pins the Kubernetes control-plane binaries Rampart's tests run
// (kube-apiserver, kubectl, etcd); build.sh builds them from this module.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)

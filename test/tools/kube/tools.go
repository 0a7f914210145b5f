//go:build tools

// Package kube pins the Kubernetes binaries Rampart's tests run: the control plane
// (kube-apiserver, kubectl, etcd) for admission and discovery tests, and the node
// (kube-controller-manager, kube-scheduler, kubelet, kube-proxy) for the single-node
// cluster of test/cluster; build.sh builds them from this module.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)

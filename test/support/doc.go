// Package support holds the helpers that tests all over the tree share instead of
// keeping copies: the "CI=true fails, else skip" rule for missing prerequisites
// (Need, RequireRoot), where the tools `make tools` builds are (ToolsDir, Tool,
// KubeAssets), polling until a condition holds (Eventually, Poll) and a buffer
// goroutines and the test share (Buffer). Its subpackage kubeapi starts a real
// kube-apiserver and etcd.
//
// Only tests may import it (_test files, and test helpers such as
// redirect/internal/podtest that only tests import) and it imports nothing of
// ours (test/layout_test.go enforces both), so any package's tests can use it,
// leaves included, and no product code ever links it.
package support

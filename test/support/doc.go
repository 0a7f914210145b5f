// Package support holds the helpers that tests all over the tree share instead of
// keeping copies: the "CI=true fails, else skip" rule for missing prerequisites
// (Need, RequireRoot) and where the tools `make tools` builds are (ToolsDir, Tool,
// KubeAssets).
//
// Only _test files may import it and it imports nothing of ours
// (test/layout_test.go enforces both), so any package's tests can use it, leaves
// included, and no product code ever links it.
package support

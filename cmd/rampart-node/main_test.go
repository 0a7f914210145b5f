package main

import (
	"strings"
	"testing"
)

func TestRunRejectsBadFlags(t *testing.T) {
	err := run(t.Context(), []string{"-no-such-flag"})
	if err == nil || !strings.Contains(err.Error(), "flags") {
		t.Fatalf("run = %v, want a flags error", err)
	}
}

func TestRunNeedsAReachableKubeconfig(t *testing.T) {
	err := run(t.Context(), []string{"-kubeconfig", t.TempDir() + "/missing", "-metrics-addr", ""})
	if err == nil {
		t.Fatal("run with a missing kubeconfig succeeded")
	}
}

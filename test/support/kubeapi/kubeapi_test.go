package kubeapi_test

import (
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/test/support/kubeapi"
)

func TestMain(m *testing.M) { os.Exit(kubeapi.Main(m)) }

// TestStopLeavesNothing: a server answers while its test runs, and once the
// test has ended neither kube-apiserver nor etcd is left running.
func TestStopLeavesNothing(t *testing.T) {
	var s *kubeapi.Server
	t.Run("serve", func(t *testing.T) {
		s = kubeapi.Start(t, nil)
		if _, err := s.Client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{}); err != nil {
			t.Fatalf("list namespaces: %v", err)
		}
		if n := len(s.Pids()); n != 2 {
			t.Fatalf("%d processes of the server found, want 2 (apiserver and etcd): the leak check would see nothing", n)
		}
	})
	if s == nil {
		return // skipped: not built
	}
	if left := s.Pids(); len(left) > 0 {
		t.Errorf("processes %v still running after the test", left)
	}
}

// TestShared: two tests get the same server.
func TestShared(t *testing.T) {
	a := kubeapi.Shared(t)
	b := kubeapi.Shared(t)
	if a != b {
		t.Error("Shared started a second server")
	}
	if _, err := a.Client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
}

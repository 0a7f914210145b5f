package agent_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rampart-mesh/rampart/redirect/agent"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
	"github.com/rampart-mesh/rampart/test/support/kubeapi"
)

func TestMain(m *testing.M) {
	podtest.MaybeHelper(map[string]podtest.Command{"agent": runAgent})
	ctrllog.SetLogger(logr.Discard()) // envtest and the pod cache log through it
	os.Exit(kubeapi.Main(m))
}

// runAgent is an agent process: sync one pod, say READY, block until killed.
// args: cgroup root, pin root, pod JSON.
func runAgent(args []string) error {
	var p corev1.Pod
	if err := json.Unmarshal([]byte(args[2]), &p); err != nil {
		return err
	}
	r, err := agent.New(agent.Options{CgroupRoot: args[0], PinRoot: args[1]})
	if err != nil {
		return err
	}
	if err := r.Sync(&p); err != nil {
		return err
	}
	fmt.Println("READY")
	select {}
}

package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Versions of the tools test/tools/*/build.sh put in the tools folder.
const (
	KubeTools       = "kube-v1.37.0"
	ContainerdTools = "containerd-v2.2.9"
	CoreDNSTools    = "coredns-v1.14.7"
	RegistryTools   = "registry-v3.1.2"
)

// Options configure Start. The zero value is usable inside the repository.
type Options struct {
	// Repo is the module root; default: the folder of `go env GOMOD`.
	Repo string
	// ToolsDir holds the built tools; default $RAMPART_TOOLS_DIR, else Repo/.cache/bin.
	ToolsDir string
	// BaseDir holds the run folders; default /var/tmp/rampart-cluster (on disk:
	// containerd's images and snapshots do not belong in a tmpfs).
	BaseDir string
	// Images is an OCI layout made by `rampart-images build` (make images). When
	// empty, Start builds the images into the run folder first.
	Images string
	// InstallRampart applies `rampart install --registry <registry> --tag <tag>`
	// with kubectl and waits for the injector and rampart-node to be ready.
	InstallRampart bool
	// Timeout bounds Start; default 5 minutes.
	Timeout time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o *Options) setDefaults() error {
	if o.Repo == "" {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		gomod := strings.TrimSpace(string(out))
		if err != nil || gomod == "" || gomod == os.DevNull {
			return fmt.Errorf("cluster: not inside the rampart module (go env GOMOD: %q, %v)", gomod, err)
		}
		o.Repo = filepath.Dir(gomod)
	}
	if o.ToolsDir == "" {
		o.ToolsDir = os.Getenv("RAMPART_TOOLS_DIR")
	}
	if o.ToolsDir == "" {
		o.ToolsDir = filepath.Join(o.Repo, ".cache", "bin")
	}
	if o.BaseDir == "" {
		o.BaseDir = DefaultBaseDir
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

// DefaultBaseDir is where run folders (and their state) live unless told otherwise.
const DefaultBaseDir = "/var/tmp/rampart-cluster"

// ErrMissing is wrapped by the error Start returns when a tool or a privilege the
// cluster needs is not there; tests skip on it (and fail under CI=true).
var ErrMissing = errors.New("cluster: missing prerequisite")

// tools are the absolute paths of every binary the cluster runs.
type tools struct {
	etcd, apiserver, controllerManager, scheduler, kubelet, proxy, kubectl string
	containerd, shim, runc, coredns, registry                              string
	cniDir                                                                 string
}

func findTools(dir string) (tools, error) {
	kube := func(b string) string { return filepath.Join(dir, KubeTools, b) }
	t := tools{
		etcd: kube("etcd"), apiserver: kube("kube-apiserver"), controllerManager: kube("kube-controller-manager"),
		scheduler: kube("kube-scheduler"), kubelet: kube("kubelet"), proxy: kube("kube-proxy"), kubectl: kube("kubectl"),
		containerd: filepath.Join(dir, ContainerdTools, "containerd"),
		shim:       filepath.Join(dir, ContainerdTools, "containerd-shim-runc-v2"),
		coredns:    filepath.Join(dir, CoreDNSTools, "coredns"),
		registry:   filepath.Join(dir, RegistryTools, "registry"),
		runc:       "/usr/sbin/runc",
		cniDir:     "/usr/lib/cni",
	}
	var missing []string
	for _, p := range []string{t.etcd, t.apiserver, t.controllerManager, t.scheduler, t.kubelet, t.proxy, t.kubectl,
		t.containerd, t.shim, t.coredns, t.registry, t.runc,
		filepath.Join(t.cniDir, "ptp"), filepath.Join(t.cniDir, "host-local"),
		filepath.Join(t.cniDir, "loopback"), filepath.Join(t.cniDir, "portmap")} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	for _, b := range []string{"nsenter", "ip", "iptables", "conntrack"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("%w: %s (run make tools deps, or the test/tools/*/build.sh scripts with %s)",
			ErrMissing, strings.Join(missing, ", "), dir)
	}
	if os.Geteuid() != 0 {
		return t, fmt.Errorf("%w: root (netns, cgroups, mounts)", ErrMissing)
	}
	return t, nil
}

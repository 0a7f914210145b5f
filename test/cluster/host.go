package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rampart-mesh/rampart/redirect"
)

// hostSettings are the host-wide settings a node needs changed, recorded by the
// first cluster and put back by the last one to stop (in base/host.json):
//   - the kernel settings kubelet sets at start (protectKernelDefaults: false;
//     with true it would refuse to start where they differ);
//   - /sys/fs/bpf made a shared mount: rampart-node mounts it Bidirectional,
//     which containerd refuses on a private mount (this machine's default,
//     where PID 1 is not systemd).
type hostSettings struct {
	Sysctls     map[string]string `json:"sysctls"`
	BPFFSShared bool              `json:"bpffsMadeShared"`
}

var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

func hostFile(base string) string { return filepath.Join(base, "host.json") }

// prepareHost records the settings and makes bpffs shared unless a running
// cluster already did; the caller holds the base lock.
func prepareHost(base string) error {
	if _, err := os.Stat(hostFile(base)); err == nil {
		return nil
	}
	h := hostSettings{Sysctls: map[string]string{}}
	for _, k := range kubeletSysctls {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			return fmt.Errorf("cluster: sysctl %s: %w", k, err)
		}
		h.Sysctls[k] = strings.TrimSpace(string(b))
	}
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		return fmt.Errorf("cluster: bpffs: %w", err)
	}
	shared, err := sharedMount(redirect.BPFFSRoot)
	if err != nil {
		return err
	}
	if !shared {
		if err := unix.Mount("", redirect.BPFFSRoot, "", unix.MS_SHARED, ""); err != nil {
			return fmt.Errorf("cluster: make %s shared: %w", redirect.BPFFSRoot, err)
		}
		h.BPFFSShared = true
	}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return os.WriteFile(hostFile(base), b, 0o600)
}

// restoreHost puts the settings back when no cluster but self (whose run folder
// is going) is left; the caller holds the base lock.
func restoreHost(base, self string) error {
	for _, s := range readStates(base) {
		if s.Name != self && s.ownerAlive() {
			return nil
		}
	}
	b, err := os.ReadFile(hostFile(base))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var h hostSettings
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("cluster: %s: %w", hostFile(base), err)
	}
	var errs []error
	for k, v := range h.Sysctls {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0); err != nil {
			errs = append(errs, fmt.Errorf("cluster: restore sysctl %s: %w", k, err))
		}
	}
	if h.BPFFSShared {
		if err := unix.Mount("", redirect.BPFFSRoot, "", unix.MS_PRIVATE, ""); err != nil {
			errs = append(errs, fmt.Errorf("cluster: make %s private again: %w", redirect.BPFFSRoot, err))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, os.Remove(hostFile(base)))
	}
	return errors.Join(errs...)
}

// sharedMount reports whether the mount at mp has shared propagation.
func sharedMount(mp string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	found, shared := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 7 || unescapeMount(fs[4]) != mp {
			continue
		}
		found, shared = true, false // the last mount on mp is the visible one
		for _, opt := range fs[6:] {
			if opt == "-" {
				break
			}
			shared = shared || strings.HasPrefix(opt, "shared:")
		}
	}
	if !found {
		return false, fmt.Errorf("cluster: %s is not a mount point", mp)
	}
	return shared, sc.Err()
}

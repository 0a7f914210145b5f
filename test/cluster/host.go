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
//     where PID 1 is not systemd);
//   - /var/lib/kubelet/device-plugins, where kubelet puts its device plugin
//     socket whatever its root-dir (removed at the end if it was not there).
//
// The record is host-wide (DefaultBaseDir/host.json, under its own lock), not
// per base folder, and lists the clusters using it: a cluster whose owner died
// counts no more.
type hostSettings struct {
	Sysctls     map[string]string `json:"sysctls"`
	BPFFSShared bool              `json:"bpffsMadeShared"`
	KubeletDir  bool              `json:"varLibKubeletMade"`
	Users       map[string]state  `json:"users"`
}

var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

var hostFile = filepath.Join(DefaultBaseDir, "host.json")

// withHost runs f on the host record under the host-wide lock and writes the
// record back (or removes it when f returns nil).
func withHost(f func(*hostSettings) (*hostSettings, error)) error {
	unlock, err := lockFile(DefaultBaseDir, ".host.lock")
	if err != nil {
		return err
	}
	defer unlock()
	var h *hostSettings
	if b, err := os.ReadFile(hostFile); err == nil {
		h = &hostSettings{}
		if err := json.Unmarshal(b, h); err != nil {
			return fmt.Errorf("cluster: %s: %w", hostFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	h, err = f(h)
	if err != nil {
		return err
	}
	if h == nil {
		if err := os.Remove(hostFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return os.WriteFile(hostFile, b, 0o600)
}

// prepareHost records the settings and makes bpffs shared unless a running
// cluster already did, and adds s to the users.
func prepareHost(s state) error {
	return withHost(func(h *hostSettings) (*hostSettings, error) {
		if h == nil {
			var err error
			if h, err = captureHost(); err != nil {
				return nil, err
			}
		}
		if h.Users == nil {
			h.Users = map[string]state{}
		}
		h.Users[s.Name] = s
		return h, nil
	})
}

func captureHost() (*hostSettings, error) {
	h := &hostSettings{Sysctls: map[string]string{}}
	if _, err := os.Stat(kubeletDir); errors.Is(err, os.ErrNotExist) {
		h.KubeletDir = true
	}
	for _, k := range kubeletSysctls {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			return nil, fmt.Errorf("cluster: sysctl %s: %w", k, err)
		}
		h.Sysctls[k] = strings.TrimSpace(string(b))
	}
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		return nil, fmt.Errorf("cluster: bpffs: %w", err)
	}
	shared, err := sharedMount(redirect.BPFFSRoot)
	if err != nil {
		return nil, err
	}
	if !shared {
		if err := unix.Mount("", redirect.BPFFSRoot, "", unix.MS_SHARED, ""); err != nil {
			return nil, fmt.Errorf("cluster: make %s shared: %w", redirect.BPFFSRoot, err)
		}
		h.BPFFSShared = true
	}
	return h, nil
}

// restoreHost drops self from the users, and puts the settings back when no
// user whose owner lives is left.
func restoreHost(self string) error {
	return withHost(func(h *hostSettings) (*hostSettings, error) {
		if h == nil {
			return nil, nil
		}
		delete(h.Users, self)
		for name, s := range h.Users {
			if !s.ownerAlive() {
				delete(h.Users, name)
			}
		}
		if len(h.Users) > 0 {
			return h, nil
		}
		if err := h.restore(); err != nil {
			return h, err
		}
		return nil, nil
	})
}

// kubeletDir is the folder kubelet writes outside its root-dir.
const kubeletDir = "/var/lib/kubelet"

func (h *hostSettings) restore() error {
	var errs []error
	if h.KubeletDir {
		errs = append(errs, os.RemoveAll(kubeletDir))
	}
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

package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// kubeletSysctls are the host-wide kernel settings kubelet sets at start
// (protectKernelDefaults: false; with true it would refuse to start on a machine
// where they differ). The first cluster saves their values and the last one to
// stop puts them back.
var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

func sysctlFile(base string) string { return filepath.Join(base, "sysctl.json") }

// saveSysctls records the current values unless a running cluster already did;
// the caller holds the base lock.
func saveSysctls(base string) error {
	if _, err := os.Stat(sysctlFile(base)); err == nil {
		return nil
	}
	vals := map[string]string{}
	for _, k := range kubeletSysctls {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			return fmt.Errorf("cluster: sysctl %s: %w", k, err)
		}
		vals[k] = strings.TrimSpace(string(b))
	}
	b, err := json.Marshal(vals)
	if err != nil {
		return err
	}
	return os.WriteFile(sysctlFile(base), b, 0o600)
}

// restoreSysctls writes the saved values back when no cluster but self (whose
// run folder is going) is left; the caller holds the base lock.
func restoreSysctls(base, self string) error {
	for _, s := range readStates(base) {
		if s.Name != self && s.ownerAlive() {
			return nil
		}
	}
	b, err := os.ReadFile(sysctlFile(base))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var vals map[string]string
	if err := json.Unmarshal(b, &vals); err != nil {
		return fmt.Errorf("cluster: %s: %w", sysctlFile(base), err)
	}
	var errs []error
	for k, v := range vals {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0); err != nil {
			errs = append(errs, fmt.Errorf("cluster: restore sysctl %s: %w", k, err))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, os.Remove(sysctlFile(base)))
	}
	return errors.Join(errs...)
}

package redirect

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

// FeatureError says which kernel feature capture needs is missing and from which
// Linux version it exists. It wraps ebpf.ErrNotSupported.
type FeatureError struct {
	Feature   string // e.g. "BPF_PROG_TYPE_SK_LOOKUP"
	MinKernel string // e.g. "5.9"
	Err       error
}

func (e *FeatureError) Error() string {
	return fmt.Sprintf("kernel lacks %s (needs Linux %s or later): %v", e.Feature, e.MinKernel, e.Err)
}

func (e *FeatureError) Unwrap() error { return e.Err }

type requirement struct {
	feature, minKernel string
	probe              func() error
}

// requirements lists what the capture programs use, oldest first.
func requirements() []requirement {
	prog := func(t ebpf.ProgramType) func() error {
		return func() error { return features.HaveProgramType(t) }
	}
	mapType := func(t ebpf.MapType) func() error {
		return func() error { return features.HaveMapType(t) }
	}
	helper := func(t ebpf.ProgramType, h asm.BuiltinFunc) func() error {
		return func() error { return features.HaveProgramHelper(t, h) }
	}
	return []requirement{
		{"BPF_PROG_TYPE_SOCK_OPS", "4.13", prog(ebpf.SockOps)},
		{"BPF_MAP_TYPE_LPM_TRIE", "4.11", mapType(ebpf.LPMTrie)},
		{"BPF_PROG_TYPE_CGROUP_SOCK_ADDR (connect4/6)", "4.17", prog(ebpf.CGroupSockAddr)},
		{"BPF_MAP_TYPE_SOCKHASH", "4.18", mapType(ebpf.SockHash)},
		{"BPF_MAP_TYPE_SK_STORAGE", "5.2", mapType(ebpf.SkStorage)},
		{"BPF_PROG_TYPE_CGROUP_SOCKOPT (getsockopt)", "5.3", prog(ebpf.CGroupSockopt)},
		{"bpf_sk_storage_get in cgroup/connect", "5.8", helper(ebpf.CGroupSockAddr, asm.FnSkStorageGet)},
		{"BPF_PROG_TYPE_SK_LOOKUP", "5.9", prog(ebpf.SkLookup)},
		{"bpf_sk_assign in sk_lookup", "5.9", helper(ebpf.SkLookup, asm.FnSkAssign)},
	}
}

// CheckKernel reports the first capture feature the running kernel lacks as a
// *FeatureError wrapping ebpf.ErrNotSupported, or nil.
func CheckKernel() error {
	for _, r := range requirements() {
		if err := r.probe(); err != nil {
			return featureErr(r.feature, r.minKernel, err)
		}
	}
	return nil
}

// featureErr wraps err as a FeatureError when the kernel does not support it, and
// otherwise adds the feature's name.
func featureErr(feature, minKernel string, err error) error {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return &FeatureError{Feature: feature, MinKernel: minKernel, Err: err}
	}
	return fmt.Errorf("%s: %w", feature, err)
}

package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// namePrefix starts every name a cluster gives its netns, links, cgroups and run
// folder: rcl<owner pid in hex>-<n>. Sweeps read the owner back from it.
const namePrefix = "rcl"

// maxSlots bounds how many clusters run at once: each takes one /30 of
// 198.19.255.0/24 for its veth pair.
const maxSlots = 64

// state is what a run folder records about its cluster before anything is
// created, so that a sweep can remove everything after the owner was killed.
type state struct {
	Name     string `json:"name"`
	Owner    int    `json:"owner"`
	Started  uint64 `json:"ownerStarted"` // the owner's start time (/proc/<pid>/stat), against pid reuse
	Slot     int    `json:"slot"`
	Registry string `json:"registry,omitempty"`
}

// addrs are the cluster's addresses, from its slot.
type addrs struct {
	Host, Node netip.Addr // veth ends, a /30
}

func (s state) addrs() addrs {
	base := netip.AddrFrom4([4]byte{198, 19, 255, byte(4*s.Slot + 1)})
	return addrs{Host: base, Node: base.Next()}
}

// Fixed ranges inside the node (every node has its own netns, so clusters may share them).
const (
	podCIDR     = "198.19.0.0/17"
	nodePodCIDR = "198.19.0.0/24"
	serviceCIDR = "198.19.128.0/20"
	kubeSvcIP   = "198.19.128.1"
	nodeName    = "node1"
	clusterDom  = "cluster.local"
	apiPort     = 6443
)

func (s state) hostLink() string { return s.Name + "h" }
func (s state) nodeLink() string { return s.Name + "n" }
func (s state) netnsPath() string {
	return "/run/netns/" + s.Name
}

// ownerOf returns the pid encoded in a name made by newName.
func ownerOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return 0, false
	}
	hexPID, seq, ok := strings.Cut(rest, "-")
	if !ok || seq == "" {
		return 0, false
	}
	if _, err := strconv.Atoi(seq); err != nil {
		return 0, false
	}
	pid, err := strconv.ParseInt(hexPID, 16, 32)
	return int(pid), err == nil && pid > 0
}

// ownerAlive reports whether the process that made s still runs: its pid
// exists and, when recorded, started when the owner did (pids wrap around; a
// busy test machine reuses them within minutes).
func (s state) ownerAlive() bool {
	if s.Owner <= 0 || errors.Is(syscall.Kill(s.Owner, 0), syscall.ESRCH) {
		return false
	}
	if s.Started == 0 {
		return true
	}
	st, err := startTime(s.Owner)
	return err != nil || st == s.Started
}

// startTime is field 22 of /proc/<pid>/stat, the process's start in clock
// ticks since boot.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cluster: /proc/%d/stat: no comm", pid)
	}
	fs := strings.Fields(string(b[i+1:]))
	if len(fs) < 20 {
		return 0, fmt.Errorf("cluster: /proc/%d/stat: %d fields", pid, len(fs))
	}
	return strconv.ParseUint(fs[19], 10, 64)
}

// lockBase takes an exclusive lock on the base folder (slot and name choice,
// sweeps and teardowns happen under it) and returns its release. The host lock
// (host.go) is only ever taken inside it, never the other way round.
func lockBase(base string) (func(), error) { return lockFile(base, ".lock") }

// lockFile takes an exclusive flock on dir/name (made if missing).
func lockFile(dir, name string) (func(), error) {
	base := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	f, err := os.OpenFile(base, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("cluster: lock %s: %w", base, err)
	}
	return func() { f.Close() }, nil
}

// readStates returns the states of every run folder under base.
func readStates(base string) []state {
	entries, _ := os.ReadDir(base)
	var out []state
	for _, e := range entries {
		if _, ok := ownerOf(e.Name()); !ok || !e.IsDir() {
			continue
		}
		s := state{Name: e.Name(), Slot: -1}
		if b, err := os.ReadFile(filepath.Join(base, e.Name(), "state.json")); err == nil {
			_ = json.Unmarshal(b, &s)
		}
		if pid, _ := ownerOf(e.Name()); pid != s.Owner {
			s = state{Name: e.Name(), Owner: pid, Slot: s.Slot} // no or foreign state file: trust the name
		}
		out = append(out, s)
	}
	return out
}

// hostHasAddr reports whether an interface of the host already holds a: the
// slot is taken by a cluster under another base folder.
func hostHasAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr() == a {
			return true
		}
	}
	return false
}

// newState picks a free name and slot and writes the run folder and its state
// file; the caller holds the base lock.
func newState(base string) (state, string, error) {
	used := map[int]bool{}
	names := map[string]bool{}
	for _, s := range readStates(base) {
		used[s.Slot] = true
		names[s.Name] = true
	}
	s := state{Owner: os.Getpid(), Slot: -1}
	var err error
	if s.Started, err = startTime(s.Owner); err != nil {
		return s, "", err
	}
	for i := 0; i < maxSlots; i++ {
		if !used[i] && !hostHasAddr(state{Slot: i}.addrs().Host) {
			s.Slot = i
			break
		}
	}
	if s.Slot < 0 {
		return s, "", fmt.Errorf("cluster: all %d slots in %s are taken", maxSlots, base)
	}
	for n := 1; ; n++ {
		s.Name = fmt.Sprintf("%s%x-%d", namePrefix, s.Owner, n)
		if !names[s.Name] {
			break
		}
	}
	dir := filepath.Join(base, s.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return s, "", fmt.Errorf("cluster: %w", err)
	}
	return s, dir, writeState(dir, s)
}

func writeState(dir string, s state) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json.tmp"), b, 0o600); err != nil {
		return fmt.Errorf("cluster: state: %w", err)
	}
	return os.Rename(filepath.Join(dir, "state.json.tmp"), filepath.Join(dir, "state.json"))
}

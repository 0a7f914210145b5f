package cluster

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// Leftovers lists what cluster name (under base) still has on the machine: its
// run folder, netns, host link, cgroups in any hierarchy, CNI cache entries,
// mounts below the run folder, and processes in its cgroups or running from its run folder. Empty
// after a clean Stop, Sweep or Down.
func Leftovers(base, name string) []string {
	dir := filepath.Join(base, name)
	s := state{Name: name}
	var out []string
	if _, err := os.Stat(dir); err == nil {
		out = append(out, "run folder "+dir)
	}
	if _, err := os.Stat(s.netnsPath()); err == nil {
		out = append(out, "netns "+s.netnsPath())
	}
	if _, err := net.InterfaceByName(s.hostLink()); err == nil {
		out = append(out, "link "+s.hostLink())
	}
	if all, _, err := netpod.Hierarchies(); err == nil {
		for _, h := range all {
			if _, err := os.Stat(filepath.Join(h, name)); err == nil {
				out = append(out, "cgroup "+filepath.Join(h, name))
			}
		}
	}
	if files, _ := filepath.Glob(filepath.Join(cniCache, name+"-*")); len(files) > 0 {
		out = append(out, fmt.Sprintf("CNI cache %v", files))
	}
	mps, _ := mountsBelow(dir)
	for _, mp := range mps {
		out = append(out, "mount "+mp)
	}
	return append(out, processesOf(name, dir)...)
}

// processesOf lists processes in a cgroup /<name>/... of any hierarchy or
// whose command line names the run folder.
func processesOf(name, dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if zombie(e.Name()) { // exited: holds nothing but its pid, its parent's to reap
			continue
		}
		cg, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cg, []byte(":/"+name+"/")) || bytes.Contains(cg, []byte(":/"+name+"\n")) ||
			bytes.Contains(cmd, []byte(dir+"/")) {
			out = append(out, fmt.Sprintf("process %d %q", pid, bytes.ReplaceAll(bytes.TrimRight(cmd, "\x00"), []byte{0}, []byte{' '})))
		}
	}
	return out
}

func zombie(pid string) bool {
	b, _ := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

package cluster

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// teardown removes everything cluster s created, in the order that lets each
// step succeed: processes first (nothing may re-mount or re-create), then the
// shim sockets (found from containerd's state), rampart-node's pins of the
// cluster's pods (found from kubelet's pod folders), mounts, cgroups, kubelet's log
// links, the network, the kernel settings kubelet changed (when no other
// cluster is left), and the run folder. It is idempotent and needs only the
// run folder's name, so it also cleans what a killed owner left.
func teardown(base string, s state) error {
	l := layout{dir: filepath.Join(base, s.Name)}
	var errs []error
	errs = append(errs, netpod.KillCgroupEverywhere(s.Name))
	errs = append(errs, removeShimSockets(l))
	errs = append(errs, removeCNICache(l, s))
	errs = append(errs, detachPins(l))
	errs = append(errs, unmountBelow(l.dir))
	errs = append(errs, netpod.RemoveCgroupEverywhere(s.Name))
	errs = append(errs, removeLogLinks(l.dir))
	errs = append(errs, removeNetwork(s))
	errs = append(errs, restoreHost(s.Name))
	if left, err := mountsBelow(l.dir); err != nil || len(left) > 0 {
		// Never RemoveAll through a mount: a bind could lead anywhere on the host.
		errs = append(errs, fmt.Errorf("cluster: %s still has mounts %v (%v); run folder kept", l.dir, left, err))
	} else if err := os.RemoveAll(l.dir); err != nil {
		errs = append(errs, fmt.Errorf("cluster: %w", err))
	}
	return errors.Join(errs...)
}

// shimSocketDir is where containerd-shim-runc-v2 puts its sockets whatever
// containerd's state folder is (pkg/shim's socketRoot, /run/containerd/s).
const shimSocketDir = "/run/containerd/s"

// tasks lists containerd's tasks (pod sandboxes and containers) that still
// have a state folder, as namespace/id pairs.
func tasks(l layout) [][2]string {
	root := filepath.Join(l.containerdState(), "io.containerd.runtime.v2.task")
	nss, _ := os.ReadDir(root)
	var out [][2]string
	for _, ns := range nss {
		ids, _ := os.ReadDir(filepath.Join(root, ns.Name()))
		for _, id := range ids {
			out = append(out, [2]string{ns.Name(), id.Name()})
		}
	}
	return out
}

// removeShimSockets removes the sockets of this containerd's shims: each is
// named sha256(<containerd address>/<namespace>/<task id>[/debug]).
func removeShimSockets(l layout) error {
	var errs []error
	for _, t := range tasks(l) {
		p := filepath.Join(l.containerdSock(), t[0], t[1])
		for _, q := range []string{p, filepath.Join(p, "debug")} {
			f := filepath.Join(shimSocketDir, fmt.Sprintf("%x", sha256.Sum256([]byte(q))))
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// cniCache is where libcni caches results whatever containerd's folders are;
// a CNI DEL removes them, a killed node does not get to.
const cniCache = "/var/lib/cni/results"

// removeCNICache removes the cached results of this node's sandboxes: the
// cluster's network (named after it) and the loopback one containerd adds.
func removeCNICache(l layout, s state) error {
	patterns := []string{filepath.Join(cniCache, s.Name+"-*")}
	for _, t := range tasks(l) {
		patterns = append(patterns, filepath.Join(cniCache, "*-"+t[1]+"-*"))
	}
	var errs []error
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, f := range files {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// mountsBelow lists the mount points at or under dir, in mount order.
func mountsBelow(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 {
			continue
		}
		mp := unescapeMount(fs[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountBelow lazily unmounts every mount at or under dir, the newest first
// (overlay snapshots, pod volumes, netns pins, kubelet's rshared root-dir bind),
// until none is left.
func unmountBelow(dir string) error {
	for range 10 {
		mps, err := mountsBelow(dir)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		slices.Reverse(mps)
		for _, mp := range mps {
			_ = unix.Unmount(mp, unix.MNT_DETACH)
		}
	}
	mps, _ := mountsBelow(dir)
	return fmt.Errorf("cluster: cannot unmount %v", mps)
}

// containerLogLinks is where kubelet links every container log, whatever its
// podLogsDir.
const containerLogLinks = "/var/log/containers"

// removeLogLinks removes kubelet's links into dir's pod logs.
func removeLogLinks(dir string) error {
	entries, _ := os.ReadDir(containerLogLinks)
	var errs []error
	for _, e := range entries {
		p := filepath.Join(containerLogLinks, e.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, dir+"/") {
			if err := os.Remove(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// sweepCNICache removes cached CNI results of clusters that are gone without
// a run folder left to find them from (the cache is named <network>-<sandbox
// id>-<interface>, and each sandbox also has a cni-loopback entry).
func sweepCNICache(base string) error {
	files, _ := filepath.Glob(filepath.Join(cniCache, namePrefix+"*"))
	var errs []error
	for _, f := range files {
		rest := filepath.Base(f)
		i := strings.Index(rest[len(namePrefix):], "-")
		if i < 0 {
			continue
		}
		j := strings.Index(rest[len(namePrefix)+i+1:], "-")
		if j < 0 {
			continue
		}
		name := rest[:len(namePrefix)+i+1+j]
		pid, ok := ownerOf(name)
		if _, err := os.Stat(filepath.Join(base, name)); !ok || err == nil || (state{Owner: pid}).ownerAlive() {
			continue
		}
		id, _, _ := strings.Cut(rest[len(name)+1:], "-")
		for _, g := range []string{f, filepath.Join(cniCache, "cni-loopback-"+id+"-lo")} {
			if err := os.Remove(g); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

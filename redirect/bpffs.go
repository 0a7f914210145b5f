package redirect

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// BPFFSRoot is where bpffs is usually mounted.
const BPFFSRoot = "/sys/fs/bpf"

// EnsureBPFFS mounts bpffs at mountpoint unless one is mounted there already; pins
// need it and some machines do not mount it at boot.
func EnsureBPFFS(mountpoint string) error {
	if isBPFFS(mountpoint) {
		return nil // the usual case needs no lock file (rampart-node's root is read-only)
	}
	// Processes starting together (test packages, an agent and its tests) would
	// otherwise each mount one, and the later mount hides the earlier one's pins.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "rampart-bpffs.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("bpffs lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("bpffs lock: %w", err)
	}
	if isBPFFS(mountpoint) {
		return nil
	}
	if err := os.MkdirAll(mountpoint, 0o700); err != nil {
		return fmt.Errorf("bpffs mountpoint: %w", err)
	}
	if err := unix.Mount("bpf", mountpoint, "bpf", 0, ""); err != nil {
		return fmt.Errorf("mount bpffs at %s: %w", mountpoint, err)
	}
	return nil
}

// CgroupID returns the id of a cgroup v2 folder (its inode number), as
// bpf_get_current_cgroup_id reports it.
func CgroupID(path string) (uint64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("cgroup id: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() {
		return 0, fmt.Errorf("cgroup id: %s is not a cgroup folder", path)
	}
	return st.Ino, nil
}

func isBPFFS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}

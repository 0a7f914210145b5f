package redirect

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// BPFFSRoot is where bpffs is usually mounted.
const BPFFSRoot = "/sys/fs/bpf"

// EnsureBPFFS mounts bpffs at mountpoint unless one is mounted there already; pins
// need it and some machines do not mount it at boot.
func EnsureBPFFS(mountpoint string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(mountpoint, &st); err == nil && st.Type == unix.BPF_FS_MAGIC {
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

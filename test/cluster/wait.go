package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// waitFor polls check every 200 ms until it succeeds, a daemon dies, or ctx ends.
func waitFor(ctx context.Context, p *procs, what string, check func() error) error {
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if err := p.dead(); err != nil {
			return fmt.Errorf("cluster: waiting for %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// dialable checks that a unix socket accepts connections.
func dialable(path string) func() error {
	return func() error {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// keepLogs copies the daemons' logs of a failed start out of the run folder
// (which teardown removes) and returns where.
func keepLogs(dir, name string) (string, error) {
	dst := filepath.Join(os.TempDir(), name+"-logs")
	src := filepath.Join(dir, "logs")
	entries, err := os.ReadDir(src)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return "", err
		}
	}
	return dst, nil
}

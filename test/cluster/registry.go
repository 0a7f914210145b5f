package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxForwarded bounds the connections the node-side registry forwarder serves
// at once (containerd pulls a few layers in parallel).
const maxForwarded = 64

// startRegistry runs the distribution registry on a free host loopback port and
// returns host:port.
func startRegistry(ctx context.Context, p *procs, bin, dir string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n"+
		"  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	if err := p.start("registry", false, nil, bin, "serve", cfgFile); err != nil {
		return "", err
	}
	return addr, waitFor(ctx, p, "registry", func() error {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// forwarder makes the host's registry reachable at the same address on the
// node's loopback, so that image references read the same on both sides and
// containerd pulls over plain HTTP from a loopback address only.
type forwarder struct {
	ln   net.Listener
	wg   sync.WaitGroup
	done chan struct{}
}

func forward(nsPath, addr string) (*forwarder, error) {
	ln, err := listenIn(nsPath, addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: registry forwarder: %w", err)
	}
	f := &forwarder{ln: ln, done: make(chan struct{})}
	f.wg.Add(1)
	go f.serve(addr)
	return f, nil
}

func (f *forwarder) serve(addr string) {
	defer f.wg.Done()
	sem := make(chan struct{}, maxForwarded)
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		select {
		case sem <- struct{}{}:
		case <-f.done:
			c.Close()
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer func() { <-sem }()
			pipe(c, addr, f.done)
		}()
	}
}

// pipe copies between c and a new connection to addr until either side ends or
// the forwarder closes.
func pipe(c net.Conn, addr string, done <-chan struct{}) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	finished := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); finished <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); finished <- struct{}{} }()
	select {
	case <-finished:
	case <-done:
	}
}

func (f *forwarder) close() {
	if f == nil {
		return
	}
	close(f.done)
	f.ln.Close()
	f.wg.Wait()
}

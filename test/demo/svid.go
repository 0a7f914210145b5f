package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
)

// svidRoot holds one folder per meshed pod (svid/<pod>/svid.pem, svid.key,
// bundle.pem), readable by the proxies only.
const svidRoot = "svid"

// demoSVIDTTL is the lifetime of the SVIDs the demo writes; it renews them at
// half-life, as a pod's proxy renews those of the cluster CA.
const demoSVIDTTL = time.Hour

// InitCA creates the mesh's CA. It stays in the demo's memory: proxies never see
// its key, they get SVID files the demo writes and renews for each pod (see
// issueSVIDs), the way an injected proxy gets an SVID for its service account and
// nothing else.
func (e *Env) InitCA() error {
	ca, err := identity.NewCA(spiffeid.RequireTrustDomainFromString(TrustDomain), 0)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	e.mu.Lock()
	e.ca = ca
	e.mu.Unlock()
	return nil
}

// issueSVIDs writes p's SVID into its own folder (owned by the proxy's uid, 0700)
// and keeps renewing it until the Env closes. It returns the folder, for
// rampart-proxy --svid-dir.
func (p *Pod) issueSVIDs() (string, error) {
	e := p.env
	e.mu.Lock()
	ca := e.ca
	e.mu.Unlock()
	if ca == nil {
		return "", errors.New("demo: no CA (call InitCA before Mesh)")
	}
	id, err := identity.NewWorkloadID(ca.TrustDomain(), p.Namespace, p.ServiceAccount)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(e.Path(svidRoot), 0o755); err != nil { // every proxy passes through
		return "", fmt.Errorf("demo: svid dir: %w", err)
	}
	dir := e.Path(filepath.Join(svidRoot, p.Name))
	if err := os.Mkdir(dir, 0o700); err != nil { // chowned to the proxy by writeSVID
		return "", fmt.Errorf("demo: svid dir: %w", err)
	}
	src, err := identity.NewRotatingSource(ca, id, identity.RotatingOptions{TTL: demoSVIDTTL, Logger: e.log})
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	ch := src.Changed()
	if err := writeSVID(dir, src, ca); err != nil {
		src.Close()
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
			ch = src.Changed()
			if err := writeSVID(dir, src, ca); err != nil {
				e.log.Error("renew SVID files", "pod", p.Name, "err", err)
			}
		}
	}()
	e.OnClose(func() error { cancel(); <-done; return src.Close() })
	return dir, nil
}

// writeSVID writes the current SVID and hands the files to the proxy's uid; the
// proxy's file watcher settles for 50 ms, long after the chown.
func writeSVID(dir string, src *identity.RotatingSource, ca *identity.CA) error {
	svid, err := src.GetX509SVID()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := identity.WriteSVIDFiles(dir, svid, ca.Bundle()); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return chownTree(dir, proxyUID)
}

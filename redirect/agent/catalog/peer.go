package catalog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrNoPod is returned when a caller's process is in no kubelet pod cgroup.
var ErrNoPod = errors.New("caller is in no pod cgroup")

// peer is who connected, as the kernel saw it at connect time.
type peer struct {
	pid   int32
	pidfd int // -1 when the kernel gives none (before Linux 6.5)
	err   error
}

type peerKey struct{}

// credListener reads each accepted connection's peer credentials and bounds
// the connections open at once: one over the limit is closed at accept, before
// anyone is identified, so a local process opening sockets in a loop holds at
// most limit goroutines, each for at most ReadHeaderTimeout unless it is a pod
// of this node.
type credListener struct {
	net.Listener
	open chan struct{}
}

func newCredListener(ln net.Listener, limit int) *credListener {
	return &credListener{Listener: ln, open: make(chan struct{}, limit)}
}

func (l *credListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.open <- struct{}{}:
		default:
			_ = c.Close()
			continue
		}
		p := peerOf(c)
		return &credConn{Conn: c, peer: p, release: sync.OnceFunc(func() { p.close(); <-l.open })}, nil
	}
}

// credConn is an accepted connection and who is at its other end.
type credConn struct {
	net.Conn
	peer    *peer
	release func()
}

func (c *credConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// connContext puts the connection's peer into its requests' context
// (http.Server.ConnContext).
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*credConn); ok {
		return context.WithValue(ctx, peerKey{}, cc.peer)
	}
	return ctx
}

// peerOf asks the kernel who connected: SO_PEERCRED's pid, and SO_PEERPIDFD.
func peerOf(c net.Conn) *peer {
	p := &peer{pidfd: -1}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		p.err = errors.New("not a unix socket")
		return p
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		p.err = err
		return p
	}
	_ = raw.Control(func(fd uintptr) {
		var cred *unix.Ucred
		if cred, p.err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); p.err == nil {
			p.pid = cred.Pid
		}
		if pfd, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD); err == nil {
			p.pidfd = pfd
		}
	})
	return p
}

// close releases the pidfd.
func (p *peer) close() {
	if p.pidfd >= 0 {
		_ = unix.Close(p.pidfd)
	}
}

// alive reports whether the process that connected still runs: checked after
// its cgroup was read, it proves the pid was not recycled in between.
func (p *peer) alive() bool {
	if p.pidfd < 0 {
		return true // no pidfd: the window is the read of one /proc file
	}
	return unix.PidfdSendSignal(p.pidfd, 0, nil, 0) == nil
}

// PodUIDFromProc reads /proc/<pid>/cgroup under procRoot and returns the UID
// of the kubelet pod cgroup the process is in.
func PodUIDFromProc(procRoot string, pid int32) (string, error) {
	b, err := os.ReadFile(procRoot + "/" + strconv.Itoa(int(pid)) + "/cgroup")
	if err != nil {
		return "", fmt.Errorf("cgroup of pid %d: %w", pid, err)
	}
	return PodUIDFromCgroup(b)
}

// maxCgroupFile bounds what PodUIDFromCgroup reads.
const maxCgroupFile = 64 << 10

// PodUIDFromCgroup parses a /proc/<pid>/cgroup file. The hierarchies that name
// a pod — cgroupfs driver "…/kubepods/<qos>/pod<uid>/<ctr>", systemd driver
// "…/kubepods-<qos>-pod<uid with _>.slice/…" — must all name the same one, and
// one must: a process in no pod, or in paths that disagree, is ErrNoPod.
func PodUIDFromCgroup(b []byte) (string, error) {
	if len(b) > maxCgroupFile {
		return "", fmt.Errorf("cgroup file of %d bytes: %w", len(b), ErrNoPod)
	}
	uid := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			return "", fmt.Errorf("cgroup line %q: %w", sc.Text(), ErrNoPod)
		}
		u := uidInPath(parts[2])
		if u == "" {
			continue // a hierarchy the runtime did not place the container in
		}
		if uid != "" && u != uid {
			return "", fmt.Errorf("cgroup path %q: %w", parts[2], ErrNoPod)
		}
		uid = u
	}
	if uid == "" {
		return "", ErrNoPod
	}
	return uid, nil
}

// uidInPath finds the pod segment of a cgroup path below a kubepods segment.
func uidInPath(path string) string {
	inKubepods := false
	for _, seg := range strings.Split(path, "/") {
		if seg == "kubepods" || strings.HasPrefix(seg, "kubepods") && strings.HasSuffix(seg, ".slice") {
			inKubepods = true
		}
		if !inKubepods {
			continue
		}
		if u, ok := strings.CutPrefix(seg, "pod"); ok && validUID(u) {
			return u
		}
		if i := strings.LastIndex(seg, "-pod"); i >= 0 && strings.HasSuffix(seg, ".slice") {
			if u := strings.ReplaceAll(seg[i+4:len(seg)-6], "_", "-"); validUID(u) {
				return u
			}
		}
	}
	return ""
}

// validUID accepts the UUID shape the API server gives pods.
func validUID(u string) bool {
	if len(u) != 36 {
		return false
	}
	for i, r := range u {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !('0' <= r && r <= '9' || 'a' <= r && r <= 'f'):
			return false
		}
	}
	return true
}

package inbound

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/rego"
)

// Server is the inbound proxy. One Server can serve any number of listeners.
type Server struct {
	opts Options
	pool *upstreamPool
	h2   *http2.Server
	// h2base carries the header limit into the HTTP/2 server (431 past it).
	h2base *http.Server
	h2up   *h2Upstream
	m      *metrics
	// readers and writers recycle the 16 KiB client-side buffers: allocated per
	// connection, they were most of what a short-lived connection cost. A pool is
	// safe shared state, not configuration, and belongs to this Server.
	readers, writers sync.Pool
	bodies           bodyPool // request bodies read for the policy (body.go)
	// mem refuses new work near the memory limit (nil: never).
	mem *memoryGuard
	// addrs and ids count open connections per source address (plaintext) and
	// per peer SPIFFE ID (HBONE), over all listeners of this Server.
	addrs, ids *peerCounter
}

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Authorizer == nil {
		return nil, errors.New("inbound: no Authorizer")
	}
	opts.setDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, m: m, mem: newMemoryGuard(opts.Limits.MemoryPressure),
		addrs: newPeerCounter(opts.Limits.MaxConnectionsPerAddress),
		ids:   newPeerCounter(opts.Limits.MaxConnectionsPerIdentity)}
	s.pool = newUpstreamPool(opts.MaxIdleUpstream, opts.Timeouts)
	s.h2 = newH2Server(&opts)
	s.h2base = &http.Server{MaxHeaderBytes: opts.HTTP.MaxHeaderBytes}
	s.h2up = newH2Upstream(opts.Timeouts)
	return s, nil
}

// Close drops idle upstream connections.
func (s *Server) Close() {
	s.pool.closeIdle()
	s.h2up.closeIdle()
}

// ServePlaintext accepts connections on ln until ctx ends (15006 role). In Strict
// mode every connection is closed unread; in Permissive mode it is authorized as an
// unauthenticated peer.
func (s *Server) ServePlaintext(ctx context.Context, ln net.Listener) error {
	var p *parker
	if s.opts.Mode == Permissive {
		p = newParker(ctx, s.opts.Logger) // nil where parking is unsupported
		defer p.stop()                    // after every connection was released
	}
	return s.acceptKeeping(ctx, ln, listenerPlaintext, s.addrs, func(c net.Conn, release func()) bool {
		if s.opts.Mode != Permissive {
			c.Close()
			return false
		}
		ci := &connInfo{scheme: "http"}
		ci.source.Address = c.RemoteAddr().String()
		ci.dest = s.localPeer(c.LocalAddr().String())
		port := portOf(c.LocalAddr().String())
		if s.reserved(port) && s.opts.Upstream == "" {
			c.Close()
			return false
		}
		ci.upstream = s.upstreamFor(port)
		return s.serve(ctx, c, ci, p, release)
	})
}

// admit reports whether new work (a connection, stream or request) may start: not
// while the process is near its memory limit (Limits.MemoryPressure). It is cheap
// enough to ask per request; HBONE streams ask it through hbone.Config.
func (s *Server) admit() bool { return s.mem.admit() }

// accept runs handle for every connection of ln in its own goroutine until ctx ends,
// then closes ln and waits for the handlers. A connection past the listener's limit
// (Limits.MaxConnections), past its source address's limit (when peers counts
// addresses) or arriving near the memory limit is closed at once.
func (s *Server) accept(ctx context.Context, ln net.Listener, listener string, peers *peerCounter, handle func(net.Conn)) error {
	return s.acceptKeeping(ctx, ln, listener, peers, func(c net.Conn, _ func()) bool {
		handle(c)
		return false
	})
}

// acceptKeeping is accept for a handle that may keep its connection past its
// return (parking, park_linux.go): it then reports true, and release must be
// called once when the connection ends. Until then the connection stays open and
// counted (listener and peer limits, open gauge), and acceptKeeping waits for it.
func (s *Server) acceptKeeping(ctx context.Context, ln net.Listener, listener string, peers *peerCounter, handle func(c net.Conn, release func()) bool) error {
	cs := &conns{s: s, listener: listener, peers: peers, open: map[net.Conn]struct{}{}}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		cs.mu.Lock()
		for c := range cs.open {
			c.Close()
		}
		cs.mu.Unlock()
	})
	defer stop()
	defer cs.wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept %s: %w", ln.Addr(), err)
		}
		cs.mu.Lock()
		full := len(cs.open) >= s.opts.Limits.MaxConnections
		if !full {
			cs.open[c] = struct{}{}
		}
		cs.mu.Unlock()
		peer, reason := s.refusal(c, full, peers)
		if reason != "" {
			c.Close()
			s.m.refuseConn(listener, reason)
			if !full {
				cs.mu.Lock()
				delete(cs.open, c)
				cs.mu.Unlock()
			}
			continue
		}
		s.m.opened(listener, 1)
		cs.wg.Add(1)
		a := &accepted{cs: cs, c: c, peer: peer}
		go func() {
			kept := false
			defer func() {
				// A bug in one connection must not take the proxy (and every
				// other connection) down.
				if r := recover(); r != nil {
					s.opts.Logger.Error("connection handler panicked", "panic", r, "stack", string(debug.Stack()))
				}
				if !kept {
					a.release()
				}
			}()
			kept = handle(c, a.release)
		}()
	}
}

// conns is the bookkeeping of one acceptKeeping call: its open connections
// (closed when ctx ends; their number is what the listener's limit counts) and
// the WaitGroup of those not yet released.
type conns struct {
	s        *Server
	listener string
	peers    *peerCounter
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]struct{}
}

// accepted is one open connection of cs, with its peer key (when cs counts
// peers). It is what a connection costs the accept loop while it is open: 48
// bytes and its map entry.
type accepted struct {
	cs   *conns
	c    net.Conn
	peer string
}

// release closes the connection and uncounts it; it is called once.
func (a *accepted) release() {
	a.c.Close()
	a.cs.mu.Lock()
	delete(a.cs.open, a.c)
	a.cs.mu.Unlock()
	if a.cs.peers != nil {
		a.cs.peers.release(a.peer)
	}
	a.cs.s.m.opened(a.cs.listener, -1)
	a.cs.wg.Done()
}

// refusal is why a new connection is refused ("" when it is not): full says the
// listener has its limit of connections; peers, when set, counts c's source
// address (peer is then the key to release).
func (s *Server) refusal(c net.Conn, full bool, peers *peerCounter) (peer, reason string) {
	switch {
	case full:
		return "", refusedListener
	case !s.admit():
		return "", refusedMemory
	case peers == nil:
		return "", ""
	}
	peer = sourceKey(c)
	if !peers.acquire(peer) {
		return "", refusedPeer
	}
	return peer, ""
}

// Listener names: the listener label of the connection metrics.
const (
	listenerPlaintext = "plaintext"
	listenerHBONE     = "hbone"
)

// serveConn sniffs one connection (plaintext or tunnelled) and serves it.
func (s *Server) serveConn(ctx context.Context, c net.Conn, ci *connInfo) {
	s.serve(ctx, c, ci, nil, nil)
}

// serve is serveConn for a connection that a parker p, when set, may take over
// between HTTP/1 requests: serve then reports true and leaves c open; release
// ends it later.
func (s *Server) serve(ctx context.Context, c net.Conn, ci *connInfo, p *parker, release func()) (parked bool) {
	defer func() {
		if !parked {
			c.Close()
		}
	}()
	c = holdable(c)
	cr := &clientReader{c: c}
	br := s.reader(cr)
	switch sniff(c, br, s.opts.Timeouts.Sniff) {
	case protoHTTP1:
		// serveHTTP1 puts its reader back: only there is it known to be unused
		// once serve returns (the HTTP/2 server may still have a frame reader on
		// its own after ServeConn returns).
		return s.serveHTTP1(ctx, c, cr, br, ci, p, release)
	case protoH2C:
		s.serveH2C(ctx, &bufferedConn{Conn: c, r: br, put: s.putReader}, ci)
	case protoOpaque:
		s.serveOpaque(ctx, c, br, ci)
	}
	return false
}

// reader returns a pooled 16 KiB reader on r. Put it back (putReader) only when
// nothing can use it any more: every reader of the connection has returned.
func (s *Server) reader(r io.Reader) *bufio.Reader {
	if br, ok := s.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, 16<<10)
}

// writer returns a pooled 16 KiB writer on w; as reader.
func (s *Server) writer(w io.Writer) *bufio.Writer {
	if bw, ok := s.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, 16<<10)
}

// putReader and putWriter take nil (nothing to put) for callers that defer them.
func (s *Server) putReader(br *bufio.Reader) {
	if br == nil {
		return
	}
	br.Reset(nil) // drop the connection; old bytes are unreachable through the API
	s.readers.Put(br)
}

func (s *Server) putWriter(bw *bufio.Writer) {
	if bw == nil {
		return
	}
	bw.Reset(nil)
	s.writers.Put(bw)
}

func (s *Server) localPeer(addr string) (p rego.Peer) {
	p.Address = addr
	p.Principal = s.opts.LocalID
	p.Labels = s.opts.LocalLabels
	return p
}

func (s *Server) upstreamFor(port uint16) string {
	if s.opts.Upstream != "" {
		return s.opts.Upstream
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
}

// local reports whether a tunnel may target addr: any address when PodIPs is
// empty, else only the pod's own (destination.address is then not client-chosen).
func (s *Server) local(addr netip.Addr) bool {
	if len(s.opts.PodIPs) == 0 {
		return true
	}
	for _, a := range s.opts.PodIPs {
		if a.Unmap() == addr.Unmap() {
			return true
		}
	}
	return false
}

func (s *Server) reserved(port uint16) bool {
	for _, p := range s.opts.ReservedPorts {
		if p == port {
			return true
		}
	}
	return false
}

func portOf(addr string) uint16 {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0
	}
	return ap.Port()
}

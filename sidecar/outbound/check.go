package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// CheckPort is the port of the capture check's sentinel destination (CheckAddr).
const CheckPort = contract.CheckPort

// CheckToken is the whole answer of a proxy to a captured connection to CheckAddr.
const CheckToken = "rampart-capture-ok\n"

// CheckAddr is the sentinel destination of the capture check: the IPv4 limited
// broadcast address. The kernel refuses a TCP connect whose route is broadcast or
// multicast with ENETUNREACH before sending any packet, so a connect to it succeeds
// only when the capture's cgroup/connect4 program has already rewritten it to the
// outbound listener; nothing can leave the pod on the way. (Istio's iptables check
// dials 127.0.0.6 instead, but eBPF capture leaves 127/8 alone, and class E
// 240/4, which Linux routes like any unicast address, would go out of the pod.)
func CheckAddr() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), CheckPort)
}

// ErrNotCaptured is returned by CheckCapture when no proxy answered the sentinel
// through capture within the wait.
var ErrNotCaptured = errors.New("outbound capture not attached")

// CheckOptions configure CheckCapture. The zero value of a field means its default.
type CheckOptions struct {
	// Wait bounds the whole check. Default 60s.
	Wait time.Duration
	// Interval separates attempts. Default 200ms.
	Interval time.Duration
	// AttemptTimeout bounds one connect and read. Default 1s.
	AttemptTimeout time.Duration
	// OnRetry, if set, is told about each failed attempt (for logging).
	OnRetry func(attempt int, err error)
}

func (o *CheckOptions) setDefaults() {
	if o.Wait <= 0 {
		o.Wait = time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = time.Second
	}
}

// CheckCapture dials CheckAddr until this pod's proxy answers through capture, or
// Wait passes. It runs in an init container after the proxy and before the app
// containers, so an app never starts while its connects would bypass the proxy
// (for instance a pod created while the node agent is down): the kubelet keeps the
// pod initializing, and restarts the check when it fails.
func CheckCapture(ctx context.Context, opts CheckOptions) error {
	opts.setDefaults()
	end := time.Now().Add(opts.Wait)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	var last error
	for n := 1; ; n++ {
		err := checkOnce(ctx, opts.AttemptTimeout)
		if err == nil {
			return nil
		}
		if last == nil || time.Now().Before(end) { // an attempt cut short by the wait says nothing
			last = err
		}
		if opts.OnRetry != nil {
			opts.OnRetry(n, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %s (%d attempts): %w", ErrNotCaptured, opts.Wait, n, last)
		case <-tick.C:
		}
	}
}

// checkOnce makes one attempt; its error says what the pod looks like from inside.
func checkOnce(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{}
	d.SetMultipathTCP(false)
	c, err := d.DialContext(ctx, "tcp4", CheckAddr().String())
	if errors.Is(err, syscall.ENETUNREACH) {
		return fmt.Errorf("connect %s: not redirected: %w", CheckAddr(), err)
	}
	if err != nil {
		return fmt.Errorf("connect %s: %w", CheckAddr(), err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	got, err := io.ReadAll(io.LimitReader(c, int64(len(CheckToken))+1))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if !bytes.Equal(got, []byte(CheckToken)) {
		return fmt.Errorf("answer %q is not the proxy's", got)
	}
	return nil
}

// answerCheck answers a captured connection whose original destination is
// CheckAddr. Only a connection from this pod's loopback can have been redirected
// there by connect4; anything else gets nothing. The sentinel is never dialled.
func (p *Proxy) answerCheck(app *net.TCPConn) {
	from, _ := netip.ParseAddrPort(app.RemoteAddr().String())
	if !from.Addr().Unmap().IsLoopback() {
		p.metrics.connections.WithLabelValues("check", "refused").Inc()
		p.opts.Logger.Warn("outbound: capture check from outside the pod refused", "client", from)
		return
	}
	_ = app.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(app, CheckToken); err != nil {
		p.metrics.connections.WithLabelValues("check", "error").Inc()
		return
	}
	p.metrics.connections.WithLabelValues("check", "ok").Inc()
}

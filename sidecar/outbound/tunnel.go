package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawio"
)

// tunnel carries app over one HBONE stream: CONNECT dst on a pooled connection to
// the destination proxy, then bytes both ways, each direction half-closed when its
// sender finishes. What the app has already sent when the connection is taken
// goes with the CONNECT (early data), so a new connection waits for no round trip
// to the destination proxy; nothing more is read from the app before that proxy
// has accepted the stream. On failure it returns what it read, so the app can
// still be answered with a 503.
func (p *Proxy) tunnel(app *net.TCPConn, t target, start time.Time) (read []byte, err error) {
	// The app side's reads and writes are raw system calls (rawio: they leave
	// the runtime's monitor thread asleep).
	rw := rawio.New(app)
	bp := bufPool.Get().(*[]byte)
	early := (*bp)[:rw.ReadReady((*bp)[:maxEarly])]
	st, err := p.open(t, early)
	if err != nil {
		read = append([]byte(nil), early[:min(len(early), sniffLen)]...)
	}
	bufPool.Put(bp)
	if err != nil {
		return read, err
	}
	defer st.Close()
	p.metrics.connectTime.Observe(time.Since(start).Seconds())
	up := make(chan struct{})
	p.workers.Go(func() {
		defer close(up)
		_ = copyPooled(st, rw)
		_ = st.CloseWrite()
	})
	_ = copyPooled(rw, st)
	_ = rw.CloseWrite()
	select {
	case <-up:
	case <-st.Done():
		// The far side ended the stream (and said to stop sending): what the app
		// still sends has nowhere to go, so stop reading it rather than wait for
		// the app to close.
		_ = rw.CloseRead()
		<-up
	}
	return nil, nil
}

// open opens the CONNECT stream, once more on another connection when the
// destination proxy refused it unprocessed (a GOAWAY raced with it).
func (p *Proxy) open(t target, early []byte) (*hbone.Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.ConnectTimeout)
	defer cancel()
	return p.openCtx(ctx, t, early)
}

// openCtx is open under the caller's context; early goes with the CONNECT.
func (p *Proxy) openCtx(ctx context.Context, t target, early []byte) (*hbone.Stream, error) {
	authority := t.dst.String()
	for attempt := 0; ; attempt++ {
		cc, err := p.pool.get(ctx, peerKey{addr: t.proxy, id: t.id})
		if err != nil {
			return nil, err
		}
		st, err := cc.ConnectEarly(ctx, authority, early) // refused: early was not processed
		if errors.Is(err, hbone.ErrRefused) && attempt == 0 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("connect %s via %s: %w", authority, t.proxy, err)
		}
		return st, nil
	}
}

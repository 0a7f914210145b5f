package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// app is the small application behind every target. Policy allows only GET /ok;
// the app serves that and counts every other request it receives: each one
// reached it although policy denies it.
//
// GET /ok answers "ok <i>" (i from the query, so pipelined answers can be checked
// in order), ?size=N answers N bytes, and ?hold=1 neither reads the body nor
// answers until the attack is over (release) or the request is cancelled.
type app struct {
	addr   string
	srv    *http.Server
	ok     atomic.Int64
	denied atomic.Int64

	mu   sync.Mutex
	hold chan struct{} // closed by release

	zeros []byte // what ?size= answers are made of, never written to
}

const maxAnswer = 8 << 20 // largest ?size= the app serves

func startApp() (*app, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("app listen: %w", err)
	}
	a := &app{addr: ln.Addr().String(), hold: make(chan struct{}), zeros: make([]byte, 32<<10)}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true) // Rampart forwards h2c as h2c with prior knowledge
	a.srv = &http.Server{Handler: a, Protocols: &p, ReadHeaderTimeout: 10 * time.Second,
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 1000}}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

func (a *app) close() { _ = a.srv.Close() }

// release ends every held request and arms a new hold for the next attack.
func (a *app) release() {
	a.mu.Lock()
	close(a.hold)
	a.hold = make(chan struct{})
	a.mu.Unlock()
}

func (a *app) holdChan() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hold
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/ok" {
		a.denied.Add(1)
		w.WriteHeader(http.StatusTeapot) // anything a proxy would not invent
		return
	}
	a.ok.Add(1)
	q := r.URL.Query()
	if q.Get("hold") != "" {
		select {
		case <-a.holdChan():
		case <-r.Context().Done():
		case <-time.After(2 * time.Minute):
		}
		return
	}
	if n, err := strconv.Atoi(q.Get("size")); err == nil && n > 0 {
		a.writeN(w, min(n, maxAnswer))
		return
	}
	body := "ok " + q.Get("i")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write([]byte(body))
}

func (a *app) writeN(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Length", strconv.Itoa(n))
	for n > 0 {
		k := min(n, len(a.zeros))
		if _, err := w.Write(a.zeros[:k]); err != nil {
			return
		}
		n -= k
	}
}

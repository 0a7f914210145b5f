package demo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Bodies the deathstar answers with, as in Cilium's Star Wars demo.
const (
	LandedBody = "Ship landed\n"
	PanicBody  = "Panic: deathstar exploded\n\ngoroutine 1 [running]:\n" +
		"main.HandleGarbage(0x2080c3f50, 0x2, 0x4, 0x425c0, 0x5, 0xa)\n" +
		"\t/code/src/github.com/empire/deathstar/temp/main.go:9 +0x64\n" +
		"main.main()\n\t/code/src/github.com/empire/deathstar/temp/main.go:5 +0x85\n"
)

// ServedByHeader names the replica that answered, so callers can see balancing.
const ServedByHeader = "X-Served-By"

// serveDeathstar is the deathstar app: `deathstar <name> <addr>`. It prints READY
// once listening and "SEEN <method> <path>" for every request it receives, which
// is how tests prove a denied request never reached it.
func serveDeathstar(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("deathstar: want <name> <listen addr>, got %q", args)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(ctx, "tcp", args[1])
	if err != nil {
		return fmt.Errorf("deathstar: %w", err)
	}
	srv := &http.Server{Handler: deathstar(args[0])}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Println("READY")
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return fmt.Errorf("deathstar: %w", err)
	}
	return nil
}

func deathstar(name string) http.Handler {
	var mu sync.Mutex // serializes SEEN lines
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Printf("SEEN %s %s\n", r.Method, r.URL.Path)
		mu.Unlock()
		w.Header().Set(ServedByHeader, name)
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/request-landing":
			fmt.Fprint(w, LandedBody)
		case r.Method == http.MethodPut && r.URL.Path == "/v1/exhaust-port":
			fmt.Fprint(w, PanicBody)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/":
			fmt.Fprintf(w, `{"name":"Death Star","model":"DS-1 Orbital Battle Station","replica":%q}`+"\n", name)
		default:
			http.NotFound(w, r)
		}
	})
}

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

	"github.com/rampart-mesh/rampart/test/demo/starwars"
)

// Bodies and header of the deathstar (test/demo/starwars, shared with the
// rampart-demo image).
const (
	LandedBody     = starwars.LandedBody
	PanicBody      = starwars.PanicBody
	ServedByHeader = starwars.ServedByHeader
)

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
	return starwars.Deathstar(name, func(method, path string) {
		mu.Lock()
		fmt.Printf("SEEN %s %s\n", method, path)
		mu.Unlock()
	})
}

// Command rampart-proxy is the Rampart sidecar. Its settings are one typed struct
// (settings) bound to flags and RAMPART_* variables with pflag: every flag falls
// back to the variables shown in -help, a flag on the command line replaces its
// variable, and a malformed value of either is an error naming it.
//
// In a pod — $POD_NAME set (the injector sets it), unless $RAMPART_IN_POD says
// otherwise — the listeners default to the contract ports: outbound capture
// 127.0.0.1:15001, plaintext 0.0.0.0:15006, HBONE :15008, admin :15020; the pod's
// addresses come from $POD_IP and the identity from Rampart's cluster CA
// ($RAMPART_CA_ADDR, $RAMPART_CA_TOKEN_FILE, $RAMPART_CA_BUNDLE: a CSR with the
// pod's service-account token) or SPIRE ($SPIFFE_ENDPOINT_SOCKET).
// Explicit flags and RAMPART_LISTEN_* variables still win. The injector also sets
// RAMPART_DISCOVERY=kube: service endpoints and peer labels then come from the API
// server, read with the pod service-account token it mounts (--kubeconfig outside
// a pod; the default, file, reads only --registry). $RAMPART_BUNDLE may be
// a path or an http(s) bundle-service URL; the proxy is ready only once a bundle
// is loaded.
//
// Inbound-only use without Kubernetes (authorizes plaintext HTTP as an
// unauthenticated peer and forwards allowed requests):
//
//	rampart-proxy --bundle policies/starwars --listen-plaintext :8080 --upstream 127.0.0.1:80
//
// `rampart-proxy check-capture [--wait 1m]` is the capture check of the injected
// rampart-check init container: it exits 0 once a connect to the sentinel
// 255.255.255.255:15002 is answered by this pod's proxy through eBPF capture, which
// holds the app containers back while the node agent has not attached capture.
//
// Memory: 1 s, 10 s and 60 s after start the proxy returns what only start-up used
// (see releaseStartupMemory), and again whenever a busy proxy goes quiet
// (releaseIdleMemory); --release-startup-memory=false ($RAMPART_RELEASE_STARTUP_MEMORY) turns both off.
// GOGC and GOMEMLIMIT work as for any Go program; the defaults are Go's (a low
// GOMEMLIMIT makes the GC run constantly once many streams are open). When
// GOMEMLIMIT is not set, --memory-limit ($RAMPART_MEMORY_LIMIT, bytes; the injector sets it from
// the container's memory limit) sets it to 90 % of that; near it, new inbound
// connections, streams and requests are refused (503) rather than the proxy
// being OOM-killed (--memory-pressure).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
	"github.com/rampart-mesh/rampart/sidecar"
)

func main() {
	if version.HandleFlag("rampart-proxy", os.Args[1:], os.Stdout) {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart-proxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == checkCommand {
		return runCheck(ctx, args[1:], os.Stdout, stderr)
	}
	s, err := parseSettings(args, os.LookupEnv, stderr)
	if err != nil {
		return err
	}
	opts, closeLog, err := s.sidecarOptions(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	setMemoryLimit(opts.Logger, s.MemoryLimit, os.LookupEnv)
	reg := prometheus.NewRegistry() // served at the admin port, never the global one
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts.Registerer = reg
	if s.ReleaseStartupMemory {
		go releaseStartupMemory(ctx, opts.Logger)
		go releaseIdleMemory(ctx, opts.Logger)
	}
	return sidecar.Run(ctx, opts)
}

// releaseStartupMemory returns, shortly after start, memory that only start-up used:
// the heap garbage of compiling the policy (debug.FreeOSMemory; the runtime alone
// would keep it for minutes), and the page mappings of executable code and read-only
// data that ran only while starting (package inits such as OPA's builtin tables,
// the Rego compiler, flag parsing). Those pages are clean page cache, shared by
// every process of the same binary; because the kernel maps them 64 KiB around each
// fault, start-up alone leaves almost all of the 11 MB of code mapped. Unmapped
// pages fault back in on first use, so later trims cost microseconds, and the
// later rounds catch slow starts (a Workload API SVID, a first bundle poll).
func releaseStartupMemory(ctx context.Context, log *slog.Logger) {
	start := time.Now()
	for _, at := range []time.Duration{time.Second, 10 * time.Second, time.Minute} {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(at))):
		}
		debug.FreeOSMemory()
		kb, err := dropCleanMappings()
		if log != nil {
			log.Debug("released start-up memory", "unmapped_kb", kb, "err", err)
		}
	}
}

// dropCleanMappings unmaps the resident pages of every read-only, file-backed
// mapping holding no private (anonymous) pages, and returns how many kB were
// resident. MADV_DONTNEED on such a mapping only drops page-table entries: the data
// is the file's, unchanged, and is read back from the page cache when touched.
func dropCleanMappings() (int, error) {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("read smaps: %w", err)
	}
	var lo, hi uintptr
	var rss, total int
	clean := false
	flush := func() error {
		if !clean || rss == 0 {
			return nil
		}
		total += rss
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, syscall.MADV_DONTNEED); e != 0 {
			return fmt.Errorf("madvise %x-%x: %w", lo, hi, e)
		}
		return nil
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"): // a new mapping
			if err := flush(); err != nil {
				return total, err
			}
			l, h, _ := strings.Cut(f[0], "-")
			a, _ := strconv.ParseUint(l, 16, 64)
			z, _ := strconv.ParseUint(h, 16, 64)
			lo, hi, rss = uintptr(a), uintptr(z), 0
			// Read-only, private, named by an absolute path: code and constants of the
			// binary and its shared libraries. [vdso], heap and stacks never qualify.
			clean = len(f) >= 6 && len(f[1]) == 4 && f[1][1] != 'w' && f[1][3] == 'p' && strings.HasPrefix(f[5], "/")
		case f[0] == "Rss:" && len(f) >= 2:
			rss, _ = strconv.Atoi(f[1])
		case f[0] == "Anonymous:" && len(f) >= 2 && f[1] != "0":
			clean = false // a copied-on-write page would be lost
		}
	}
	return total, flush()
}

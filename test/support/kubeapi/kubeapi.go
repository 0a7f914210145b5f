package kubeapi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rampart-mesh/rampart/test/support"
)

// Server is a running kube-apiserver and etcd.
type Server struct {
	// Env is envtest's environment: KubeConfig, AddUser, ControlPlane.
	Env *envtest.Environment
	// Config reaches the server as an admin (system:masters) user.
	Config *rest.Config
	// Client is a clientset built from Config.
	Client *kubernetes.Clientset
	// Assets is the folder of kube-apiserver, etcd (and kubectl when built).
	Assets string

	dirs []string // the apiserver's cert folder and etcd's data folder
}

// startTimeout replaces envtest's 20 s default: a loaded CI machine running
// tests under the race detector can take longer to start the apiserver.
const startTimeout = time.Minute

// Start runs a kube-apiserver and etcd until the test ends, configured by env
// (nil: envtest's defaults). It skips the test (fails it under CI=true) when the
// binaries are not built, and fails it when a process of the server outlives
// the stop.
func Start(t testing.TB, env *envtest.Environment) *Server {
	t.Helper()
	s, err := start(t, env)
	if s != nil {
		t.Cleanup(func() {
			if err := s.stop(); err != nil {
				t.Error(err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(t testing.TB, env *envtest.Environment) (*Server, error) {
	t.Helper()
	if env == nil {
		env = &envtest.Environment{}
	}
	if env.BinaryAssetsDirectory == "" {
		env.BinaryAssetsDirectory = support.KubeAssets(t, "kube-apiserver", "etcd")
	}
	if env.ControlPlaneStartTimeout == 0 {
		env.ControlPlaneStartTimeout = startTimeout
	}
	cfg, err := env.Start()
	s := &Server{Env: env, Config: cfg, Assets: env.BinaryAssetsDirectory}
	if api := env.ControlPlane.APIServer; api != nil && api.CertDir != "" {
		s.dirs = append(s.dirs, api.CertDir)
	}
	if etcd := env.ControlPlane.Etcd; etcd != nil && etcd.DataDir != "" {
		s.dirs = append(s.dirs, etcd.DataDir)
	}
	if err != nil {
		// envtest does not stop an etcd it started when the apiserver fails.
		return s, errors.Join(fmt.Errorf("kubeapi: start from %s: %w", env.BinaryAssetsDirectory, err), s.stop())
	}
	if s.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return s, fmt.Errorf("kubeapi: client: %w", err)
	}
	return s, nil
}

// stop stops the server and returns an error when any of its processes is still
// there afterwards (after killing it).
func (s *Server) stop() error {
	stopErr := s.Env.Stop()
	left := s.waitGone(10 * time.Second)
	if len(left) == 0 {
		return nil // a stop that timed out but killed its process is fine
	}
	for _, pid := range left {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return fmt.Errorf("kubeapi: processes %v of the server outlived its stop (%v); killed", left, stopErr)
}

// waitGone polls until no process of the server is left, or d passes, and
// returns those left.
func (s *Server) waitGone(d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		left := Running(s.dirs...)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pids are the processes of the server (apiserver and etcd) still running.
func (s *Server) Pids() []int { return Running(s.dirs...) }

// Running lists the processes whose command line names one of dirs (a folder
// envtest made for one server), zombies excluded.
func Running(dirs ...string) []int {
	if len(dirs) == 0 {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 { // gone, or a zombie (empty cmdline)
			continue
		}
		for _, d := range dirs {
			if c := string(cmdline); strings.Contains(c, d+"/") || strings.Contains(c, d+"\x00") {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// shared is the package's one server for Shared, stopped by Main.
var shared struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	s       *Server
	err     error
}

// Shared returns one server for every test of the package (each test must use
// its own namespaces or names), started on first use. TestMain must run the
// tests through Main, which stops it; without Main, Shared fails the test.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("kubeapi.Shared: TestMain must call kubeapi.Main(m), which stops the shared server")
	}
	if !shared.started {
		assets := support.KubeAssets(t, "kube-apiserver", "etcd") // may skip: not started then
		shared.started = true
		shared.s, shared.err = start(t, &envtest.Environment{BinaryAssetsDirectory: assets})
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.s
}

// Main runs the tests (m.Run), stops the server Shared started, and returns the
// exit code for os.Exit: 1 when a process of that server outlived the stop.
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s != nil {
		if err := shared.s.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// EnvOptions configure an Env.
type EnvOptions struct {
	// Tag starts every name the Env creates ("rpdemo", "rpe2e"): 2-6 lower-case
	// letters or digits. Required.
	Tag string
	// Helper builds the command line (and extra environment) that re-executes
	// this program as a helper (apps, clients): CLIHelper or TestHelper. Required.
	Helper netpod.HelperCommand
	// ProxyBinary is the rampart-proxy executable. Required for meshed pods.
	ProxyBinary string
	// Subnet is the pods' network; the bridge takes its last usable address.
	// Default 198.18.8.0/24.
	Subnet netip.Prefix
	// Logger receives progress. Default: discarded.
	Logger *slog.Logger
	// Context, when cancelled (Ctrl-C), makes every wait of the harness give up at
	// once so that the caller can Close. Default: never cancelled.
	Context context.Context
}

func (o *EnvOptions) setDefaults() {
	if !o.Subnet.IsValid() {
		o.Subnet = netip.MustParsePrefix("198.18.8.0/24")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
}

// Env is one run's private network (a netpod.Env: hub namespace and bridge,
// cgroup folder, bpffs pin folder, work folder) and the mesh's CA.
type Env struct {
	*netpod.Env

	opts EnvOptions
	log  *slog.Logger

	mu sync.Mutex
	ca *identity.CA // the mesh's CA (InitCA); in memory only

	egressResolver string // DNS server proxies check egress names with ("" = system)

}

// NewEnv checks the machine (see Check), sweeps what killed runs with the same tag
// left behind, and creates the hub namespace, bridge, cgroup and folders.
func NewEnv(opts EnvOptions) (*Env, error) {
	opts.setDefaults()
	if opts.Tag == "" || opts.Helper == nil {
		return nil, errors.New("demo: EnvOptions need a Tag (2-6 of a-z0-9) and a Helper")
	}
	if err := Check(); err != nil {
		return nil, err
	}
	env, err := netpod.New(netpod.Options{Tag: opts.Tag, Subnet: opts.Subnet, Pins: true,
		Logger: opts.Logger, Context: opts.Context})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return &Env{Env: env, opts: opts, log: opts.Logger}, nil
}

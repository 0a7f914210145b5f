package images

import (
	"fmt"

	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// spec describes one image: which command it holds and how it runs.
type spec struct {
	name  string   // image and binary name (cmd/<name>)
	user  string   // uid:gid the entrypoint runs as
	links []string // extra names in /usr/local/bin pointing at the binary (multi-call)
	entry string   // entrypoint name in /usr/local/bin
	cmd   []string // default arguments
	desc  string   // org.opencontainers.image.description
}

// BinDir is where every image keeps its binaries (on PATH).
const BinDir = "/usr/local/bin"

// Names of the images, in build and layout order.
var Names = []string{"rampart-proxy", "rampart-injector", "rampart-node", "rampart-demo", "rampart-pause"}

// specs returns the image specs in Names order. The users match the manifests
// `rampart install` and the injector render: the proxy is 1337 (the node agent
// never redirects its sockets), the injector and the demo apps nonroot, and the
// node agent root (it loads eBPF programs; its DaemonSet is privileged). The
// pause image is the test cluster's pod sandbox (containerd's pinned sandbox
// image) and runs as 65535, as the upstream pause image does.
func specs() []spec {
	return []spec{
		{name: "rampart-proxy", user: fmt.Sprintf("%d:%d", contract.ProxyUID, contract.ProxyGID), entry: "rampart-proxy",
			desc: "Rampart L7 policy sidecar"},
		{name: "rampart-injector", user: "65532:65532", entry: "rampart-injector",
			desc: "Rampart mutating admission webhook"},
		{name: "rampart-node", user: "0:0", entry: "rampart-node",
			desc: "Rampart node agent (eBPF traffic capture)"},
		{name: "rampart-demo", user: "65532:65532", entry: "deathstar", cmd: []string{"-listen", ":8080"},
			links: []string{"curl", "deathstar", "sleep"},
			desc:  "Star Wars demo apps: deathstar server, curl client, sleep"},
		{name: "rampart-pause", user: "65535:65535", entry: "rampart-pause",
			desc: "Pod sandbox (pause) container: waits for SIGTERM"},
	}
}

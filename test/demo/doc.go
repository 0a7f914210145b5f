// Package demo runs Rampart's Star Wars scenario on the real kernel: pods are
// network namespaces on a private bridge, each with its own cgroup v2, real app
// processes, and (for meshed pods) a rampart-proxy running as uid 1337 in a child
// cgroup, its traffic captured by the redirect package's eBPF programs.
//
// Its pods are redirect/netpod's (an Env embeds a netpod.Env). It is a library,
// not a main package, so that both `rampart demo` (cmd/rampart, a thin command)
// and the end-to-end tests in test/e2e build the same pods the same way; it is the
// one part of test/ that cmd may import (see test/layout_test.go):
//
//	env, err := demo.NewEnv(demo.EnvOptions{Tag: "rpe2e", Helper: demo.TestHelper(),
//		ProxyBinary: "/path/to/rampart-proxy"})
//	defer env.Close()
//	sw, err := demo.StartStarWars(env, demo.StarWarsOptions{Mode: demo.Strict})
//	res, err := sw.Tiefighter.Do("POST", sw.ServiceURL("/v1/request-landing"))
//	// res.Status == 200, res.Body == "Ship landed\n"
//
// Lower-level parts compose other scenarios: Env.AddPod, Pod.Mesh (capture plus
// proxy), Pod.StartDeathstar / Pod.StartClient, Env.WriteRegistry,
// Env.WriteBundle, and Env.BundleFile / Env.ServeBundles (a LiveBundle the
// proxies re-read or poll, swapped with Set).
//
// Apps are the running binary re-executed (HelperCommand): `rampart demo helper
// ...` for the CLI (CLIHelper), a helper environment variable for test binaries
// (TestHelper, with MaybeHelper first in TestMain).
//
// The proxy's flags are known when the demo compiles (features.go: the same
// repository builds both; TestProxyOffersDemoFlags holds rampart-proxy to them),
// not read from its -help at run time.
//
// Everything an Env creates (namespaces, links, cgroups, pins, files, processes)
// is named with a per-run prefix holding the creating process's id; Close removes
// it, and Sweep removes what a killed run left behind.
package demo

// Package netpod builds "pods" on the real kernel, the one way Rampart's tests,
// `rampart demo` and the end-to-end suite make them: a pod is a network namespace
// joined to a private bridge (in a hub namespace) by a veth pair, with its own
// cgroup v2 folder holding "app" and "proxy" children, and real processes born in
// one of those cgroups (so that every socket they open is the pod's).
//
//	env, err := netpod.New(netpod.Options{Tag: "rpe2e", Subnet: netip.MustParsePrefix("198.18.8.0/24")})
//	defer env.Close()
//	pod, err := env.AddPod(netpod.PodSpec{Name: "web", Addrs: []netip.Prefix{netip.MustParsePrefix("198.18.8.10/24")}})
//	proc, err := env.Start(netpod.ProcSpec{Name: "web-app", NetNS: pod.NetNSPath(), Cgroup: pod.AppCgroup,
//		Argv: []string{"/usr/bin/python3", "-m", "http.server"}})
//
// Helper processes are the running program re-executed (HelperCommand): a
// sub-command for a CLI (CLIHelper), an environment variable for a test binary
// (TestHelper, read back by HelperArgs first in TestMain).
//
// Everything an Env creates (namespaces, links, cgroups, bpffs pins, its work
// folder, processes) is named with a per-run prefix holding the creating process's
// id. Close removes it, last created first; New first sweeps (Sweep) what runs of
// the same tag whose process is gone left behind, e.g. after SIGKILL. Processes
// die with their creator (Pdeathsig) and, for those that change uid, with their
// cgroup (cgroup.kill) at Close or Sweep.
//
// A harness whose namespace, cgroups and processes outlive one Env (the
// single-node cluster of test/cluster, brought up by one command and down by
// another) uses the same pieces without an Env: AddNetNS / DelNetNS, a veth
// pair to the host's namespace (AddHostLink, where pods hang off a private
// bridge instead), cgroups in every hierarchy, v1 ones included
// (MakeCgroupEverywhere, KillCgroupEverywhere, RemoveCgroupEverywhere), and
// StartCmd, Env.Start's process start, with Detach for daemons that outlive
// their creator.
//
// The package lives under redirect, a leaf, so that redirect's own tests can use
// it as well as cmd and test; it imports only redirect (cgroup2 and bpffs mounts,
// detaching pinned capture).
package netpod

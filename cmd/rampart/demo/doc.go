// Package demo runs Rampart's Star Wars scenario on the real kernel: pods are
// network namespaces on a private bridge, each with its own cgroup v2, real app
// processes, and (for meshed pods) a rampart-proxy running as uid 1337 in a child
// cgroup, its traffic captured by the redirect package's eBPF programs.
//
// It is a library, not a main package, so that both `rampart demo` and the
// end-to-end tests in test/e2e build the same pods the same way:
//
//	env, err := demo.NewEnv(demo.EnvOptions{Tag: "rpdemo", ...})
//	defer env.Close()
//	sw, err := demo.StartStarWars(ctx, env, demo.StarWarsOptions{})
//	res := sw.Tiefighter.Do("POST", sw.DeathstarURL("/v1/request-landing"))
//
// Apps are the running binary re-executed (see Helper): `rampart demo helper ...`
// for the CLI, a helper environment variable for test binaries.
//
// Everything an Env creates (namespaces, links, cgroups, pins, files, processes)
// is named with a per-run prefix holding the creating process's id; Close removes
// it, and Sweep removes what a killed run left behind.
package demo

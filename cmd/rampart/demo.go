package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/test/demo"
)

// newDemoCmd is `rampart demo`: the Star Wars scenario on real namespaces.
func newDemoCmd() *cobra.Command {
	var proxy, mode string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the Star Wars scenario on real network namespaces (needs root)",
		Long: "demo builds pods as network namespaces on a private bridge, captures their traffic\n" +
			"into rampart-proxy with eBPF, sends the Star Wars requests, prints what happened\n" +
			"and removes everything it made. It needs root, cgroup v2 and eBPF.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := demo.Mode(strings.ToUpper(mode))
			if m != demo.Strict && m != demo.Permissive {
				return fmt.Errorf("--mode %q: want STRICT or PERMISSIVE", mode)
			}
			if err := demo.Check(); err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			if proxy == "" {
				if proxy, err = findProxy(exe); err != nil {
					return err
				}
			}
			return demo.Run(cmd.Context(), demo.RunOptions{Out: cmd.OutOrStdout(), ProxyBinary: proxy,
				Helper: demo.CLIHelper(exe), Mode: m})
		},
	}
	cmd.Flags().StringVar(&proxy, "proxy", "", "rampart-proxy binary (default: next to rampart, else on PATH)")
	cmd.Flags().StringVar(&mode, "mode", "STRICT", "deathstar proxies' plaintext mode: STRICT or PERMISSIVE")
	cmd.AddCommand(newDemoHelperCmd())
	return cmd
}

// newDemoHelperCmd runs the demo's apps inside pods (the demo re-executes rampart).
func newDemoHelperCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "helper",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE:               func(_ *cobra.Command, args []string) error { return demo.Helper(args) },
	}
}

// findProxy looks for rampart-proxy next to the running rampart (make build puts
// both in bin/), then on PATH.
func findProxy(exe string) (string, error) {
	p := filepath.Join(filepath.Dir(exe), "rampart-proxy")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("rampart-proxy"); err == nil {
		return filepath.Abs(p)
	}
	return "", fmt.Errorf("rampart-proxy not found next to %s nor on PATH: run `make build` "+
		"(or pass --proxy)", exe)
}

package main

import (
	"fmt"
	"time"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/spf13/cobra"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// newCACmd is `rampart ca`: the built-in CA for demos, tests and single machines.
func newCACmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "the built-in SPIFFE certificate authority",
	}
	cmd.AddCommand(newCAInitCmd(), newCAIssueCmd())
	return cmd
}

func newCAInitCmd() *cobra.Command {
	var td, dir string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "init",
		Short: "create a root CA for a trust domain in --dir (ca.crt, ca.key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			trust, err := spiffeid.TrustDomainFromString(td)
			if err != nil {
				return fmt.Errorf("ca init: --trust-domain %q: %w", td, err)
			}
			ca, err := identity.InitCA(dir, trust, ttl)
			if err != nil {
				return fmt.Errorf("ca init: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created CA for trust domain %s in %s (expires %s)\n",
				ca.TrustDomain(), dir, ca.Root().NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&td, "trust-domain", identity.DefaultTrustDomain, "trust domain the CA issues for")
	cmd.Flags().StringVar(&dir, "dir", "", "directory for ca.crt and ca.key (created 0700; must not hold a CA)")
	cmd.Flags().DurationVar(&ttl, "ttl", identity.DefaultCATTL, "lifetime of the root")
	cmd.MarkFlagRequired("dir")
	return cmd
}

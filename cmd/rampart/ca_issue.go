package main

import (
	"fmt"
	"os"
	"time"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/spf13/cobra"
)

func newCAIssueCmd() *cobra.Command {
	var id, dir, out string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "issue an X.509 SVID from the CA in --dir into --out (svid.pem, svid.key, bundle.pem)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := identity.LoadCA(dir)
			if err != nil {
				return fmt.Errorf("ca issue: %w", err)
			}
			// Only the spiffe://<td>/ns/<ns>/sa/<sa> form of the CA's trust domain.
			w, err := identity.ParseWorkloadID(ca.TrustDomain(), id)
			if err != nil {
				return fmt.Errorf("ca issue: --spiffe-id: %w", err)
			}
			svid, err := ca.Issue(w.ID(), ttl)
			if err != nil {
				return fmt.Errorf("ca issue: %w", err)
			}
			if out == "" {
				out = dir
			}
			if err := os.MkdirAll(out, 0o755); err != nil { // the key file itself is 0600
				return fmt.Errorf("ca issue: --out: %w", err)
			}
			if err := identity.WriteSVIDFiles(out, svid, ca.Bundle()); err != nil {
				return fmt.Errorf("ca issue: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "issued %s into %s (expires %s)\n",
				svid.ID, out, svid.Certificates[0].NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "spiffe-id", "", "SPIFFE ID spiffe://<td>/ns/<namespace>/sa/<service-account>")
	cmd.Flags().StringVar(&dir, "dir", "", "`directory` of the CA (made by rampart ca init)")
	cmd.Flags().StringVar(&out, "out", "", "`directory` for svid.pem, svid.key, bundle.pem, created if missing (default --dir)")
	cmd.Flags().DurationVar(&ttl, "ttl", identity.DefaultSVIDTTL, fmt.Sprintf("SVID lifetime (at most %s)", identity.MaxSVIDTTL))
	cmd.MarkFlagRequired("spiffe-id")
	cmd.MarkFlagRequired("dir")
	return cmd
}

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego"
)

func newPolicyBuildCmd() *cobra.Command {
	var out string
	var o rego.BuildOptions
	cmd := &cobra.Command{
		Use:   "build DIR -o bundle.tar.gz",
		Short: "build a bundle directory into a .tar.gz (opa build --bundle), optionally signed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := rego.Build(cmd.Context(), args[0], f, o); err != nil {
				f.Close()
				os.Remove(out) // never leave a half-written bundle behind
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "bundle.tar.gz", "bundle file to write")
	cmd.Flags().StringVar(&o.SigningKey, "signing-key", "", "PEM private key (or HMAC secret) to sign the bundle with")
	cmd.Flags().StringVar(&o.SigningAlg, "signing-alg", "RS256", "JWT signing algorithm")
	cmd.Flags().StringVar(&o.KeyID, "key-id", "default", "key id recorded in the signature")
	cmd.Flags().StringVar(&o.Revision, "revision", "", "override the manifest revision")
	return cmd
}

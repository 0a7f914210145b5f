package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
)

// newVersionCmd prints the version stamped at build (see cmd/internal/version):
// the tag `rampart install` puts on every image by default.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print rampart's version (the default tag of the images it installs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), version.String("rampart"))
			return err
		},
	}
}

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// placeholder: replaced by the issue that builds this command.
func newInstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "install",
		Short: "print the manifests that install Rampart on a cluster",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("install: not built yet")
		},
	}
}

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// placeholder: replaced by the issue that builds this command.
func newInjectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inject",
		Short: "add the Rampart sidecar to workload manifests offline",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("inject: not built yet")
		},
	}
}

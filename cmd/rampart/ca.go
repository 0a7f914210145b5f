package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// placeholder: replaced by the issue that builds this command.
func newCACmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ca",
		Short: "the built-in SPIFFE certificate authority",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("ca: not built yet")
		},
	}
}

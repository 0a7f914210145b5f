package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// placeholder: replaced by the issue that builds this command.
func newPolicyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "policy",
		Short: "test, evaluate, explain, build and benchmark Rego policies",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("policy: not built yet")
		},
	}
}

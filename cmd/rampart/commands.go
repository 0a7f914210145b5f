package main

import "github.com/spf13/cobra"

// subcommands lists rampart's subcommands; each is built in its own file.
func subcommands() []*cobra.Command {
	return []*cobra.Command{
		newPolicyCmd(),                  // policy.go
		newObserveCmd(),                 // observe.go
		newCACmd(),                      // ca.go
		newInstallCmd(), newInjectCmd(), // install.go, inject.go
		newDemoCmd(),    // demo.go
		newExampleCmd(), // example.go
		newVersionCmd(), // version.go
	}
}

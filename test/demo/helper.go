package demo

import (
	"errors"
	"fmt"
	"os"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// HelperEnv carries a helper command into a re-executed test binary (see
// MaybeHelper); `rampart demo helper` passes it as arguments instead.
const HelperEnv = "RAMPART_DEMO_HELPER"

// Helper runs one helper command inside a pod: "deathstar" (the app) or "client"
// (requests read from stdin). It returns when the command is done.
func Helper(args []string) error {
	if len(args) == 0 {
		return errors.New("demo helper: no command")
	}
	switch args[0] {
	case "deathstar":
		return serveDeathstar(args[1:])
	case "client":
		return runClient(os.Stdin, os.Stdout)
	case "internet":
		return serveInternet(args[1:])
	case "egress-client":
		return runEgressClient(args[1:], os.Stdin, os.Stdout)
	}
	return fmt.Errorf("demo helper: unknown command %q", args[0])
}

// MaybeHelper runs the helper command this process was started for, if
// HelperEnv is set, and exits. Test binaries call it first in TestMain.
func MaybeHelper() {
	args, ok := netpod.HelperArgs(HelperEnv)
	if !ok {
		return
	}
	if err := Helper(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// CLIHelper re-executes a rampart binary as `rampart demo helper ...`.
func CLIHelper(exe string) netpod.HelperCommand { return netpod.CLIHelper(exe, "demo", "helper") }

// TestHelper re-executes the running test binary, which must call MaybeHelper
// first in TestMain.
func TestHelper() netpod.HelperCommand { return netpod.TestHelper(HelperEnv) }

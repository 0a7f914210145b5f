package netpod

import (
	"os"
	"strings"
)

// HelperCommand returns the argv and extra environment that run helper (a
// command and its arguments) in a fresh copy of this program.
type HelperCommand func(helper ...string) (argv, env []string)

// CLIHelper re-executes a binary as `exe sub... helper...`, e.g. CLIHelper(exe,
// "demo", "helper") for `rampart demo helper deathstar`.
func CLIHelper(exe string, sub ...string) HelperCommand {
	return func(helper ...string) ([]string, []string) {
		return append(append([]string{exe}, sub...), helper...), nil
	}
}

// TestHelper re-executes the running test binary with the helper command in the
// variable envName; its TestMain must read it with HelperArgs first (-test.run=^$
// keeps it from running tests if it does not).
func TestHelper(envName string) HelperCommand {
	exe := os.Args[0]
	return func(helper ...string) ([]string, []string) {
		return []string{exe, "-test.run=^$"}, []string{HelperEnvEntry(envName, helper...)}
	}
}

// HelperEnvEntry is the environment entry carrying a helper command, for
// processes started by other means (e.g. runc).
func HelperEnvEntry(envName string, helper ...string) string {
	return envName + "=" + strings.Join(helper, "\x1f")
}

// HelperArgs returns the helper command this process was started for through
// envName, or false when it was not.
func HelperArgs(envName string) ([]string, bool) {
	spec, ok := os.LookupEnv(envName)
	if !ok {
		return nil, false
	}
	return strings.Split(spec, "\x1f"), true
}

package podtest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// Command is a helper command run inside a pod; it writes results to stdout.
type Command func(args []string) error

// MaybeHelper runs the helper command this process was started for, if any, and
// exits; call it first in TestMain. extra adds package-specific commands.
func MaybeHelper(extra map[string]Command) {
	args, ok := netpod.HelperArgs(helperEnv)
	if !ok {
		return
	}
	cmds := map[string]Command{
		"serve": serve, "dial": dial, "dialas": dialAs, "dialfrom": dialFrom, "dialmany": dialMany, "udpecho": udpEcho,
		"udp": udpDial, "bench": benchDial, "echo": echoServe, "benchecho": benchEcho,
	}
	for k, v := range extra {
		cmds[k] = v
	}
	cmd, found := cmds[args[0]]
	if !found {
		fmt.Fprintf(os.Stderr, "podtest: unknown helper %q\n", args[0])
		os.Exit(2)
	}
	if err := cmd(args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "podtest %s: %v\n", args[0], err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Result is what the dial and udp helpers print, one JSON line.
type Result struct {
	Line  string `json:",omitempty"` // what the server answered
	Peer  string `json:",omitempty"` // getpeername on the app's socket
	Local string `json:",omitempty"` // getsockname on the app's socket
	Err   string `json:",omitempty"`
}

func printJSON(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// ParseResult decodes a helper's Result line.
func ParseResult(line string) (Result, error) {
	var r Result
	err := json.Unmarshal([]byte(line), &r)
	return r, err
}

// Served is one serve answer: which listener took the connection, and what
// SO_ORIGINAL_DST said ("-" when it failed).
type Served struct{ Listener, OrigDst, Remote string }

// ParseServed splits a serve answer line.
func ParseServed(line string) (Served, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return Served{}, fmt.Errorf("serve answer %q", line)
	}
	return Served{Listener: f[0], OrigDst: f[1], Remote: f[2]}, nil
}

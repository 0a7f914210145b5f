package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/policies"
	"github.com/rampart-mesh/rampart/rego"
)

// newPolicyCmd groups the commands that work on Rego policies and bundles offline.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "test, evaluate, explain, build, benchmark, translate, replay and suggest Rego policies",
	}
	cmd.AddCommand(newPolicyTestCmd(), newPolicyEvalCmd(), newPolicyExplainCmd(),
		newPolicyBuildCmd(), newPolicyBenchCmd(),
		newPolicyTranslateCmd(),                     // policy_translate.go
		newPolicyReplayCmd(), newPolicySuggestCmd()) // policy_replay.go, policy_suggest.go
	return cmd
}

// bundleFlags are shared by the commands that decide: which bundle, which rule.
type bundleFlags struct {
	bundle   string
	input    string
	decision string
	key      string // public key that must have signed the bundle
	keyID    string
	keyAlg   string
	bodies   bool // decide as a proxy with request bodies turned on
}

func (f *bundleFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.bundle, "bundle", "", "bundle directory (a .manifest honoured; without one, roots come from its packages), .tar.gz, or the name of a shipped bundle (starwars, networkpolicy, lib)")
	cmd.Flags().StringVar(&f.input, "input", "-", "request input JSON file, - for stdin: Rampart's {source, destination, request}, OPA-Envoy's input, an Envoy CheckRequest, or a decision-log line")
	cmd.Flags().StringVar(&f.decision, "decision", rego.DefaultDecision, "decision rule to evaluate: data.envoy.authz.allow or envoy/authz/allow")
	cmd.Flags().BoolVar(&f.bodies, "request-body", true, "decide as a proxy with request bodies on (rampart-proxy's body option; else only bundles opting in through their manifest read bodies)")
	cmd.Flags().StringVar(&f.key, "verification-key", "", "PEM public key (or HMAC secret) the bundle must be signed with")
	cmd.Flags().StringVar(&f.keyID, "key-id", "default", "key id of --verification-key")
	cmd.Flags().StringVar(&f.keyAlg, "verification-alg", "RS256", "algorithm of --verification-key")
	_ = cmd.MarkFlagRequired("bundle")
}

// load reads the request input and loads the bundle into a fresh engine: the
// common start of every command that decides.
func (f *bundleFlags) load(cmd *cobra.Command, opts ...rego.Option) (*rego.Engine, *rego.Input, error) {
	in, err := readInput(f.input, cmd.InOrStdin(), cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, err
	}
	e, err := f.engine(cmd.Context(), opts...)
	if err != nil {
		return nil, nil, err
	}
	// As the proxy does: a body is in the input only when the policy reads bodies,
	// and then a request without one has an empty body (parsed_body null).
	if in.Request != nil {
		switch {
		case !e.BodyPolicy().Read:
			in.Request.Body, in.Request.BodyTruncated = nil, false
		case in.Request.Body == nil:
			in.Request.Body = []byte{}
		}
	}
	return e, in, nil
}

// engine loads the bundle into a fresh engine.
func (f *bundleFlags) engine(ctx context.Context, opts ...rego.Option) (*rego.Engine, error) {
	opts = append([]rego.Option{rego.WithDecision(f.decision)}, opts...)
	if f.bodies {
		opts = append(opts, rego.WithRequestBody(0))
	}
	if f.key != "" {
		vc, err := rego.VerificationKey(f.keyID, f.key, f.keyAlg)
		if err != nil {
			return nil, fmt.Errorf("--verification-key: %w", err)
		}
		opts = append(opts, rego.WithVerification(vc))
	}
	e, err := rego.New(opts...)
	if err != nil {
		return nil, err
	}
	if err := loadBundle(ctx, e, f.bundle); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", f.bundle, err)
	}
	return e, nil
}

// loadBundle accepts a directory, a .tar.gz file, or a shipped bundle's name.
func loadBundle(ctx context.Context, e *rego.Engine, path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return e.LoadDir(ctx, "main", path)
	case err == nil:
		return e.LoadFile(ctx, "main", path)
	case !strings.ContainsAny(path, "/."):
		fsys, ferr := policies.Bundle(path)
		if ferr != nil {
			return ferr
		}
		return e.LoadFS(ctx, "main", fsys)
	}
	return err
}

// maxInputBytes bounds an input file: inputs are one request, bodies included.
const maxInputBytes = 16 << 20

// readInput reads a request input from a file or stdin ("-") in any form
// rego.DecodeInput accepts (Rampart's, OPA-Envoy's, an Envoy CheckRequest, a
// decision-log line), and says on stderr which form it took and what it dropped.
func readInput(path string, stdin io.Reader, stderr io.Writer) (*rego.Input, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", path, err)
	}
	if len(raw) > maxInputBytes {
		return nil, fmt.Errorf("input %s: larger than %d bytes", path, maxInputBytes)
	}
	d, err := rego.DecodeInput(raw)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", path, err)
	}
	if d.Form != rego.FormRampart {
		fmt.Fprintf(stderr, "input %s: read as %s\n", path, d.Form)
	}
	if len(d.Dropped) > 0 {
		fmt.Fprintf(stderr, "input %s: ignored (no place in Rampart's input): %s\n", path, strings.Join(d.Dropped, ", "))
	}
	return d.Input, nil
}

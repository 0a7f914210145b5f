package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego/translate"
)

// maxTranslateInput bounds one policy file.
const maxTranslateInput = 32 << 20

func newPolicyTranslateCmd() *cobra.Command {
	var files []string
	var out string
	var o translate.Options
	cmd := &cobra.Command{
		Use:   "translate -f FILE... [-o DIR]",
		Short: "translate Kubernetes, Cilium, Calico and Istio policies into a Rampart bundle",
		Long: `Translate NetworkPolicy, CiliumNetworkPolicy, Calico (Global)NetworkPolicy and
Istio AuthorizationPolicy objects into a Rampart bundle (Rego + data) whose rules
name the object and field they came from. Namespaces and Pods or workloads given
with -f supply namespace labels and named ports. A field that cannot be expressed
is refused by name and no bundle is written. Without -o the bundle is printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srcs, err := readSources(files, cmd.InOrStdin())
			if err != nil {
				return err
			}
			b, err := translate.Translate(srcs, o)
			if err != nil {
				return err
			}
			return writeTranslated(cmd.OutOrStdout(), b, out)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "policy file (YAML or JSON, several documents or a List); - for stdin; repeatable")
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle directory to write (default: print the bundle)")
	cmd.Flags().StringVar(&o.Unselected, "unselected", "deny", "decision for destinations no policy selects: deny (zero trust) or allow (as the source systems)")
	cmd.Flags().StringVar(&o.IstioRootNamespace, "istio-root-namespace", "istio-system", "namespace of mesh-wide AuthorizationPolicies")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func readSources(files []string, stdin io.Reader) ([]translate.Source, error) {
	var srcs []translate.Source
	for _, f := range files {
		r := stdin
		if f != "-" {
			fh, err := os.Open(f)
			if err != nil {
				return nil, err
			}
			defer fh.Close()
			r = fh
		}
		data, err := io.ReadAll(io.LimitReader(r, maxTranslateInput+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if len(data) > maxTranslateInput {
			return nil, fmt.Errorf("%s: larger than %d bytes", f, maxTranslateInput)
		}
		srcs = append(srcs, translate.Source{Name: f, Data: data})
	}
	return srcs, nil
}

func writeTranslated(w io.Writer, b *translate.Bundle, dir string) error {
	files := b.Files()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if dir == "" {
		for _, n := range names {
			fmt.Fprintf(w, "--- %s\n%s", n, files[n])
		}
		return nil
	}
	if err := b.WriteDir(dir); err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintf(w, "wrote %s\n", filepath.Join(dir, n))
	}
	return nil
}

package main

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// outputFormat is the -o flag of the commands that report: a table for people
// (the default), JSON or YAML for programs.
type outputFormat string

func (o outputFormat) check() error {
	switch o {
	case "", "table", "json", "yaml":
		return nil
	}
	return fmt.Errorf("-o %q: want table, json or yaml", string(o))
}

// encode writes v as JSON or YAML; it reports false for the table format, which
// each command prints its own way.
func (o outputFormat) encode(w io.Writer, v any) (bool, error) {
	switch o {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return true, enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = w.Write(b)
		return true, err
	}
	return false, nil
}

// enum is a pflag.Value for outputFormat, checked when parsed.
type enum struct{ p *outputFormat }

func newEnum(p *outputFormat) enum { return enum{p} }

func (e enum) String() string { return string(*e.p) }
func (e enum) Type() string   { return "format" }
func (e enum) Set(s string) error {
	if err := outputFormat(s).check(); err != nil {
		return err
	}
	*e.p = outputFormat(s)
	return nil
}

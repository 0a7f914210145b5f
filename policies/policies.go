package policies

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
)

// FS holds every shipped bundle, one top-level folder each ("all:" keeps .manifest).
//
//go:embed all:starwars all:lib all:networkpolicy all:egress
var FS embed.FS

// Names lists the shipped bundles in FS.
func Names() []string {
	entries, _ := fs.ReadDir(FS, ".") // reading an embed.FS root cannot fail
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// Bundle returns the shipped bundle called name as an fs.FS whose root holds its
// .manifest, ready for rego.Engine.LoadFS or OPA's bundle reader.
func Bundle(name string) (fs.FS, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("policies: no bundle %q (have %v)", name, Names())
	}
	return fs.Sub(FS, name)
}

package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// envAnnotation is the pflag annotation listing a flag's variables, first wins.
const envAnnotation = "rampart-env"

// group is one section of -help: the flags one role of the proxy uses.
type group struct {
	title string
	fs    *pflag.FlagSet
}

// binder registers flags into the section being filled and into the FlagSet
// that parses them.
type binder struct {
	all    *pflag.FlagSet
	groups []group
}

func (b *binder) section(title string) {
	b.groups = append(b.groups, group{title, pflag.NewFlagSet(title, pflag.ContinueOnError)})
}

// flag binds v to --name and to the variables envs (the first set one is used
// when the flag is not given).
func (b *binder) flag(v pflag.Value, name, usage string, envs ...string) {
	g := b.groups[len(b.groups)-1].fs
	if len(envs) > 0 {
		usage += " ($" + strings.Join(envs, ", else $") + ")"
	}
	g.Var(v, name, usage)
	if len(envs) > 0 {
		_ = g.SetAnnotation(name, envAnnotation, envs) // the flag was just added
	}
	b.all.AddFlag(g.Lookup(name))
}

// bindEnv sets every flag that the command line left alone from the first of its
// variables that is set. So a flag always replaces its variable, lists included,
// and a malformed variable is an error naming it.
func bindEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		for _, env := range f.Annotations[envAnnotation] {
			v, ok := lookup(env)
			if !ok {
				continue
			}
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("$%s %q (--%s): %w", env, v, f.Name, e)
			}
			return
		}
	})
	return err
}

// usage prints -help: how roles combine, then one section per role.
func (b *binder) usage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	for _, g := range b.groups {
		fmt.Fprintf(w, "\n%s:\n%s", g.title, g.fs.FlagUsagesWrapped(120))
	}
}

const usageHead = `Usage: rampart-proxy [flags]
       rampart-proxy check-capture [--wait DURATION]

Roles (combine them in one process):
  server   authorizes inbound requests and forwards allowed ones to the app:
           --bundle (or --bundle-url) and --listen-plaintext and/or --listen-hbone;
           --listen-hbone also needs an identity.
  client   tunnels the app's outbound connections to the destination's proxy:
           --route and/or --listen-outbound, no --bundle; tunnels need an identity
           unless every route is ",plain".
  in a pod ($POD_NAME set, or $RAMPART_IN_POD=true) the listeners default to the
           contract ports 15001, 15006, 15008 and 15020 and the injector sets the rest.

Every flag falls back to the variables shown with it; a flag given on the command
line replaces its variable (for lists too). A malformed value is an error.
`

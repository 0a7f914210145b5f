// Command rampart-images builds Rampart's OCI images without Docker (`make
// images`) and pushes them (`make push REGISTRY=host:port`):
//
//	rampart-images build [-out .cache/images] [-version V] [-revision R] [-epoch UNIX] [-registry R] [-arch A]
//	rampart-images push -registry host:port [-out .cache/images]
//
// It is a developer tool apart from the rampart CLI so that go-containerregistry
// and its Docker-config dependencies stay out of every binary users run. Unset,
// -version is `git describe --tags --always --dirty`, -revision `git rev-parse
// HEAD`, and -epoch $SOURCE_DATE_EPOCH or else the commit time, so the same
// commit builds the same digests. See cmd/internal/images.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rampart-mesh/rampart/cmd/internal/images"
	"github.com/rampart-mesh/rampart/cmd/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart-images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if version.HandleFlag("rampart-images", args, stdout) {
		return nil
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: rampart-images build|push [flags]")
		return flag.ErrHelp
	}
	switch args[0] {
	case "build":
		return build(ctx, args[1:], stdout, stderr)
	case "push":
		return push(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q (build, push)", args[0])
}

func build(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o images.Options
	var epoch int64
	fs.StringVar(&o.Out, "out", ".cache/images", "OCI image layout folder (replaced)")
	fs.StringVar(&o.Version, "version", "", "version and tag (default: git describe --tags --always --dirty)")
	fs.StringVar(&o.Revision, "revision", "", "commit for the revision label (default: git rev-parse HEAD)")
	fs.Int64Var(&epoch, "epoch", 0, "timestamp of every file and label, Unix seconds (default: $SOURCE_DATE_EPOCH, else the commit time)")
	fs.StringVar(&o.Registry, "registry", "ghcr.io/rampart-mesh", "registry the layout names the images under")
	fs.StringVar(&o.Arch, "arch", "", "GOARCH of the images (default: this machine's)")
	fs.StringVar(&o.CACerts, "ca-certs", images.DefaultCACerts, "CA bundle copied into every image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	repo, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	o.Repo, o.Log = repo, stderr
	if err := gitDefaults(ctx, repo, &o, epoch); err != nil {
		return err
	}
	o.Version = version.SanitizeTag(o.Version)
	start := time.Now()
	imgs, err := images.Build(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %d images (version %s, epoch %d) into %s in %.1fs\n",
		len(imgs), o.Version, o.Epoch.Unix(), o.Out, time.Since(start).Seconds())
	return table(stdout, imgs)
}

func table(w io.Writer, imgs []images.Image) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tDIGEST\tCOMPRESSED\tUNCOMPRESSED")
	for _, im := range imgs {
		d, err := im.Img.Digest()
		if err != nil {
			return err
		}
		c, u, err := images.Sizes(im.Img)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f MiB\t%.1f MiB\n", im.Ref, d, mib(c), mib(u))
	}
	return tw.Flush()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func push(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("out", ".cache/images", "OCI image layout folder `make images` wrote")
	registry := fs.String("registry", "", "registry (and path) to push to, e.g. 127.0.0.1:5000 or ghcr.io/me (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *registry == "" {
		return errors.New("push: -registry is required")
	}
	pushed, err := images.Push(ctx, *dir, *registry)
	if err != nil {
		return err
	}
	for _, p := range pushed {
		fmt.Fprintf(stdout, "%s\t%s\n", p.Ref, p.ByDigest())
	}
	return nil
}

// moduleRoot is the folder of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the rampart module (go env GOMOD: %q, %v)", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

// gitDefaults fills Version, Revision and Epoch that were not given from git and
// $SOURCE_DATE_EPOCH.
func gitDefaults(ctx context.Context, repo string, o *images.Options, epoch int64) error {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = repo
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	var err error
	if o.Version == "" {
		if o.Version, err = git("describe", "--tags", "--always", "--dirty"); err != nil {
			return err
		}
	}
	if o.Revision == "" {
		if o.Revision, err = git("rev-parse", "HEAD"); err != nil {
			return err
		}
	}
	if epoch == 0 {
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			if epoch, err = strconv.ParseInt(s, 10, 64); err != nil {
				return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
			}
		} else {
			s, err := git("log", "-1", "--format=%ct")
			if err != nil {
				return err
			}
			if epoch, err = strconv.ParseInt(s, 10, 64); err != nil {
				return fmt.Errorf("commit time %q: %w", s, err)
			}
		}
	}
	o.Epoch = time.Unix(epoch, 0)
	return nil
}

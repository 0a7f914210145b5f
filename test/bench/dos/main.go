package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// config is the run's shape, from flags.
type config struct {
	attacks, targets []string
	duration         time.Duration
	rate             int
	reps             int
	scale            scale
	jsonOut          string
	keep             bool
	logLevel         string
	nginx, haproxy   string
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dos:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("dos", flag.ContinueOnError)
	c := config{scale: fullScale()}
	var attacksFlag, targetsFlag string
	fs.StringVar(&attacksFlag, "attacks", "all", "comma-separated attacks (all: "+strings.Join(attackNames(), ",")+")")
	fs.StringVar(&targetsFlag, "targets", "rampart,nginx,haproxy", "comma-separated targets")
	fs.DurationVar(&c.duration, "duration", 15*time.Second, "duration of each attack (setup such as opening connections is extra)")
	fs.IntVar(&c.rate, "rate", 50, "legitimate requests per second during each attack")
	fs.IntVar(&c.reps, "reps", 1, "runs of each attack per target, interleaved across targets; the table shows the run with the median p99")
	fs.IntVar(&c.scale.idleConns, "idle-conns", c.scale.idleConns, "idle keep-alive connections")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the work dir (logs, configs)")
	fs.StringVar(&c.logLevel, "rampart-log-level", "error", "rampart-proxy --log-level (its log is in the work dir)")
	fs.StringVar(&c.nginx, "nginx", "/usr/sbin/nginx", "nginx binary (1.22)")
	fs.StringVar(&c.haproxy, "haproxy", "/usr/sbin/haproxy", "haproxy binary (2.6)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.reps < 1 {
		return c, fmt.Errorf("-reps: %d, want ≥ 1", c.reps)
	}
	c.targets = strings.Split(targetsFlag, ",")
	for _, t := range c.targets {
		if !slices.Contains([]string{"rampart", "nginx", "haproxy"}, t) {
			return c, fmt.Errorf("-targets: unknown %q", t)
		}
	}
	c.attacks = attackNames()
	if attacksFlag != "all" {
		c.attacks = strings.Split(attacksFlag, ",")
		for _, a := range c.attacks {
			if !slices.Contains(attackNames(), a) {
				return c, fmt.Errorf("-attacks: unknown %q", a)
			}
		}
	}
	return c, nil
}

func attackNames() []string {
	var out []string
	for _, a := range attacks() {
		out = append(out, a.name)
	}
	return out
}

// suite is a prepared run: a work dir, a built rampart-proxy, the CA and the app.
func newEnv(c config) (*env, func(), error) {
	dir, err := os.MkdirTemp("", "rampart-dos-")
	if err != nil {
		return nil, nil, err
	}
	e := &env{dir: dir, nginx: c.nginx, haproxy: c.haproxy, logLevel: c.logLevel}
	cleanup := func() {
		if e.app != nil {
			e.app.close()
		}
		if !c.keep {
			os.RemoveAll(dir)
		}
	}
	if slices.Contains(c.targets, "rampart") {
		if e.rampart, err = buildRampart(dir); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	for _, t := range c.targets {
		if bin := map[string]string{"nginx": c.nginx, "haproxy": c.haproxy}[t]; bin != "" {
			if _, err := exec.LookPath(bin); err != nil {
				cleanup()
				return nil, nil, fmt.Errorf("%s: %w (bash .ci/deps installs it)", t, err)
			}
		}
	}
	if err := e.setupCA(); err != nil {
		cleanup()
		return nil, nil, err
	}
	if e.app, err = startApp(); err != nil {
		cleanup()
		return nil, nil, err
	}
	return e, cleanup, nil
}

// fitIdleConns lowers the idle connection count to what the hard limit on open
// files lets every process hold (this one holds the client side of each, the
// targets the server side and HAProxy reserves two descriptors per connection).
// Raising the hard limit needs CAP_SYS_RESOURCE.
func fitIdleConns(c *config) {
	limit := int(fdHardLimit())
	if fit := haproxyMaxConn() - 500; c.scale.idleConns > fit {
		fmt.Fprintf(os.Stderr, "dos: %d idle connections instead of %d: the hard limit on open files is %d\n",
			fit, c.scale.idleConns, limit)
		c.scale.idleConns = fit
	}
}

func run(c config) error {
	fitIdleConns(&c)
	e, cleanup, err := newEnv(c)
	if err != nil {
		return err
	}
	defer cleanup()
	var results []result
	for _, at := range attacks() {
		if !slices.Contains(c.attacks, at.name) {
			continue
		}
		reps := make(map[string][]result)
		for range c.reps { // interleaved: a burst of load on a shared host hits every target alike
			for _, t := range c.targets {
				r := runOne(e, t, at, c.scale, c.duration, c.rate)
				fmt.Fprintln(os.Stderr, r.summary())
				reps[t] = append(reps[t], r)
			}
		}
		for _, t := range c.targets {
			results = append(results, medianRun(reps[t]))
		}
	}
	fmt.Print(table(c, results))
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		return os.WriteFile(c.jsonOut, b, 0o644)
	}
	return nil
}

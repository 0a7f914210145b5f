package demo

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// startHelper runs a helper command as the pod's app and waits for its READY.
func (p *Pod) startHelper(helper ...string) (*Proc, error) {
	argv, env := p.env.opts.Helper(helper...)
	proc, err := p.env.Start(netpod.ProcSpec{Name: p.Name + "-" + helper[0], NetNS: netpod.NSPath(p.NetNS),
		Cgroup: p.AppCgroup, Argv: argv, Env: env})
	if err != nil {
		return nil, err
	}
	if l, err := proc.Line(20 * time.Second); err != nil || l != "READY" {
		return nil, fmt.Errorf("demo: %s %s did not start: %q %v", p.Name, helper[0], l, err)
	}
	return proc, nil
}

// Client is a pod's client app: it sends the requests it is given, one
// connection each, with plain http:// — capture and mTLS are invisible to it.
type Client struct {
	Pod  *Pod
	proc *Proc
	mu   sync.Mutex // one request at a time on the pipe
}

// StartClient runs the client app in the pod.
func (p *Pod) StartClient() (*Client, error) {
	proc, err := p.startHelper("client")
	if err != nil {
		return nil, err
	}
	return &Client{Pod: p, proc: proc}, nil
}

// Do sends one request and returns what the app saw. The error is about the
// client process; a refused connection is a Result with Err set.
func (c *Client) Do(method, url string) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.proc.Send(method + " " + url); err != nil {
		return Result{}, fmt.Errorf("demo: client %s: %w", c.Pod.Name, err)
	}
	line, err := c.proc.Line(15 * time.Second)
	if err != nil {
		return Result{}, err
	}
	var r Result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return Result{}, fmt.Errorf("demo: client %s answered %q: %w", c.Pod.Name, line, err)
	}
	return r, nil
}

// App is a server app that reports every request it receives.
type App struct {
	Pod  *Pod
	proc *Proc
	mu   sync.Mutex
	seen map[string]int // "METHOD /path" -> count
}

// StartDeathstar runs the deathstar app on port 80 of the pod.
func (p *Pod) StartDeathstar() (*App, error) {
	proc, err := p.startHelper("deathstar", p.Name, ":80")
	if err != nil {
		return nil, err
	}
	a := &App{Pod: p, proc: proc, seen: map[string]int{}}
	go a.collect()
	return a, nil
}

func (a *App) collect() {
	for l := range a.proc.Lines() {
		if req, ok := strings.CutPrefix(l, "SEEN "); ok {
			a.mu.Lock()
			a.seen[req]++
			a.mu.Unlock()
		}
	}
}

// Seen returns how many requests with this method and path reached the app.
func (a *App) Seen(method, path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[method+" "+path]
}

// Total returns how many requests reached the app.
func (a *App) Total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.seen {
		n += c
	}
	return n
}

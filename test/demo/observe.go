package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/redirect"
)

// Decision is one line of a proxy's decision log, reduced to what the demo shows.
type Decision struct {
	ID        string            // decision_id
	Source    string            // source SPIFFE ID ("" for an unauthenticated peer)
	Labels    map[string]string // source labels
	Method    string
	Path      string
	Allowed   bool
	Reason    string
	Revisions map[string]string // bundle name -> revision used
	Time      time.Time         // when it was made
	Proxy     string            // the pod whose proxy made it (set by StarWars.Decisions)
	Raw       string            // the line as written
}

// Revision returns the revisions the decision used, joined with ",".
func (d Decision) Revision() string { return revisions(d.Revisions) }

// logLine is the part of rego's decision-log line (OPA's fields) read here.
type logLine struct {
	DecisionID string    `json:"decision_id"`
	Timestamp  time.Time `json:"timestamp"`
	Input      struct {
		Attributes struct {
			Source struct {
				Principal string            `json:"principal"`
				Labels    map[string]string `json:"labels"`
			} `json:"source"`
			Request struct {
				HTTP struct {
					Method string `json:"method"`
					Path   string `json:"path"`
				} `json:"http"`
			} `json:"request"`
		} `json:"attributes"`
	} `json:"input"`
	Bundles map[string]struct {
		Revision string `json:"revision"`
	} `json:"bundles"`
	Rampart struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	} `json:"rampart"`
}

// ParseDecision reads one decision-log line.
func ParseDecision(line string) (Decision, error) {
	var l logLine
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		return Decision{}, fmt.Errorf("demo: decision log line: %w", err)
	}
	a := l.Input.Attributes
	d := Decision{ID: l.DecisionID, Source: a.Source.Principal, Labels: a.Source.Labels,
		Method: a.Request.HTTP.Method, Path: a.Request.HTTP.Path, Allowed: l.Rampart.Allowed,
		Reason: l.Rampart.Reason, Revisions: map[string]string{}, Time: l.Timestamp, Raw: line}
	for name, b := range l.Bundles {
		d.Revisions[name] = b.Revision
	}
	return d, nil
}

// Decisions returns every decision the proxy logged so far.
func (px *Proxy) Decisions() ([]Decision, error) {
	b, err := os.ReadFile(px.DecisionLog)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	var out []Decision
	s := bufio.NewScanner(bytes.NewReader(b))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		if len(bytes.TrimSpace(s.Bytes())) == 0 {
			continue
		}
		d, err := ParseDecision(s.Text())
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, s.Err()
}

// Metrics fetches the pod proxy's /metrics from the admin port, through the hub.
func (p *Pod) Metrics(ctx context.Context) (Metrics, error) {
	c := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: p.env.HubDialer(), DisableKeepAlives: true}}
	url := fmt.Sprintf("http://%s:%d/metrics", p.IP, redirect.AdminPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("demo: %s metrics: %w", p.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("demo: %s metrics: %s", p.Name, resp.Status)
	}
	return ParseMetrics(resp.Body)
}

// Metrics are Prometheus samples by their full text name ("name{labels}"), as
// ParseMetrics reads them from the text exposition format.
type Metrics map[string]float64

// ParseMetrics reads the Prometheus text format; comments are skipped.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("demo: metrics line %q: %w", line, err)
		}
		m[line[:i]] = v
	}
	return m, s.Err()
}

// Sum adds the samples of metric name whose labels contain every given
// `key="value"` pair.
func (m Metrics) Sum(name string, labels ...string) float64 {
	var sum float64
	for k, v := range m {
		base, lbl, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, want := range labels {
			ok = ok && strings.Contains(lbl, want)
		}
		if ok {
			sum += v
		}
	}
	return sum
}

package hbone_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
	"github.com/rampart-mesh/rampart/test/support"
)

// h2specVersion is what test/tools/h2spec/build.sh builds into $RAMPART_TOOLS_DIR.
const h2specVersion = "v2.2.1"

// h2specNotApplicable lists the h2spec cases this server answers otherwise on
// purpose, with the reason. Every other case must pass; a case listed here
// that starts passing fails the test too, so the list stays exact.
var h2specNotApplicable = map[string]string{
	// A closed stream's state is not kept (a peer could make us remember every
	// stream it ever opened; only the last 32 we reset are), so a stream below
	// the highest opened one is treated as closed: its frames get a stream
	// error STREAM_CLOSED, not a connection error that would cut every other
	// tunnel of the connection.
	"http2/5.1/12":  "HEADERS on a closed stream: stream error STREAM_CLOSED, not a connection error",
	"http2/5.1.1/2": "HEADERS for a lower, never opened stream ID: stream error STREAM_CLOSED, not a connection error PROTOCOL_ERROR",
	// A CONNECT stream's DATA is a byte stream with no content-length (§8.5);
	// other methods are refused with 405 whatever their body.
	"http2/8.1.2.6/1": "content-length of a non-CONNECT request is not checked against its DATA",
	"http2/8.1.2.6/2": "content-length of a non-CONNECT request is not checked against its DATA",
}

// TestH2Spec runs the h2spec conformance suite (github.com/summerwind/h2spec)
// against the HBONE server. h2spec cannot present a client certificate, so it
// reaches hbone.Serve over a TLS listener that asks for none; the mTLS
// handshake and the SPIFFE check in front of it in the proxy are tested in
// sidecar/inbound. Non-CONNECT requests are answered 405 with a body, as the
// proxy does (after their body): h2spec's checks mostly need only an answer.
func TestH2Spec(t *testing.T) {
	bin := support.Tool(t, filepath.Join("h2spec-"+h2specVersion, "h2spec"), "test/tools/h2spec/build.sh")
	addr, _, _ := serve(t, hbone.Config{}, func(s *hbone.Stream) {
		if s.Request().Method == "CONNECT" {
			echo(s)
			return
		}
		// Read the request to its end before refusing it, as an HTTP server
		// reads a body: h2spec's stream-state cases then meet an open stream,
		// not one the answer already closed.
		io.Copy(io.Discard, s)
		s.Respond(405, nil, []byte("CONNECT only"))
	})
	_, port, _ := net.SplitHostPort(addr)
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	if d := os.Getenv("H2SPEC_KEEP"); d != "" {
		report = d
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "--tls", "--insecure", "--host", "127.0.0.1", "--port", port,
		"--timeout", "2", "--junit-report", report)
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run() // non-zero when a case failed: the report says which
	cases, err := readJUnit(report)
	if err != nil {
		t.Fatalf("h2spec (%v): %v\n%s", runErr, err, out.String())
	}
	if len(cases) < 100 {
		t.Fatalf("h2spec ran only %d cases:\n%s", len(cases), out.String())
	}
	var passed, skipped int
	var bad []string
	for _, c := range cases {
		why, expected := h2specNotApplicable[c.id]
		switch {
		case c.skipped:
			skipped++
		case c.failure == "" && expected:
			bad = append(bad, fmt.Sprintf("%s passes but is listed as not applicable (%s)", c.id, why))
		case c.failure == "":
			passed++
		case !expected:
			bad = append(bad, fmt.Sprintf("%s %s: %s", c.id, c.name, c.failure))
		default:
			t.Logf("not applicable: %s %s (%s)", c.id, c.name, why)
		}
	}
	t.Logf("h2spec %s: %d cases, %d passed, %d skipped, %d not applicable", h2specVersion, len(cases), passed, skipped, len(h2specNotApplicable))
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Fatalf("h2spec:\n%s", strings.Join(bad, "\n"))
	}
}

// h2specCase is one case of h2spec's JUnit report, id like "http2/6.5.3/2".
type h2specCase struct {
	id, name, failure string
	skipped           bool
}

func readJUnit(path string) ([]h2specCase, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Suites []struct {
			Package string `xml:"package,attr"`
			Cases   []struct {
				Package string    `xml:"package,attr"`
				Name    string    `xml:"classname,attr"`
				Failure *string   `xml:"failure"`
				Error   *string   `xml:"error"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse report: %w", err)
	}
	var cases []h2specCase
	for _, s := range doc.Suites {
		for i, c := range s.Cases {
			// h2spec numbers a section's cases from 1: "http2/6.5.3/2" runs one.
			hc := h2specCase{id: fmt.Sprintf("%s/%d", c.Package, i+1), name: c.Name, skipped: c.Skipped != nil}
			for _, msg := range []*string{c.Failure, c.Error} {
				if msg != nil {
					hc.failure = strings.Join(strings.Fields(*msg), " ")
				}
			}
			cases = append(cases, hc)
		}
	}
	return cases, nil
}

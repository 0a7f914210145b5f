package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const reqBody = `{"ship":"tiefighter","bay":3}`

// readResponse reads one HTTP/1.1 response with Content-Length and requires 200.
func readResponse(r *bufio.Reader) error {
	status, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("response %q", bytes.TrimSpace(status))
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("content-length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	_, err = r.Discard(length)
	return err
}

// status sends one request and returns the status code (sanity checks).
func status(addr, method, path string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	return strconv.Atoi(f[1])
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var wrkTotal = regexp.MustCompile(`(\d+) requests in`)

// maxRate runs wrk -t1 -c32 and returns requests per second and the total;
// any non-2xx answer is an error (a chain must serve, not refuse, at speed).
func maxRate(cfg config, dir, addr string, d time.Duration) (rps float64, total int, err error) {
	script := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(script, []byte(wrkPost), 0o644); err != nil {
		return 0, 0, err
	}
	out, err := exec.Command(cfg.wrk, "-t1", "-c32", "-d"+d.String(), "-s", script,
		"http://"+addr+"/v1/request-landing").CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "Non-2xx") || strings.Contains(s, "Socket errors") {
		return 0, 0, fmt.Errorf("wrk saw errors:\n%s", s)
	}
	m, t := wrkRPS.FindStringSubmatch(s), wrkTotal.FindStringSubmatch(s)
	if m == nil || t == nil {
		return 0, 0, fmt.Errorf("wrk output not understood:\n%s", s)
	}
	rps, _ = strconv.ParseFloat(m[1], 64)
	total, _ = strconv.Atoi(t[1])
	return rps, total, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

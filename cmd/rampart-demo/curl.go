package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// curl exit codes this client reports (curl's own numbering).
const (
	exitUsage    = 2
	exitBadURL   = 3
	exitResolve  = 6
	exitConnect  = 7
	exitHTTP     = 22
	exitWrite    = 23
	exitTimeout  = 28
	exitRecvFail = 56
)

// maxDataFile bounds a -d @file body.
const maxDataFile = 16 << 20

// curl runs one request like curl would and returns curl's exit code.
func curl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseCurlArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "curl: %v\n", err)
		return exitUsage
	}
	fail := func(code int, err error) int {
		if !o.silent || o.showError {
			fmt.Fprintf(stderr, "curl: (%d) %v\n", code, err)
		}
		return code
	}
	req, err := o.request(ctx)
	if err != nil {
		return fail(exitBadURL, err)
	}
	if o.maxTime > 0 {
		c, cancel := context.WithTimeout(req.Context(), o.maxTime)
		defer cancel()
		req = req.WithContext(c)
	}
	dialer := &net.Dialer{Timeout: o.connectTO} // 0: only -m (the context) bounds it
	client := &http.Client{Transport: &http.Transport{Proxy: nil, ForceAttemptHTTP2: true, DialContext: dialer.DialContext}}
	if !o.location {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fail(transportExit(err), err)
	}
	defer resp.Body.Close()
	if o.fail && resp.StatusCode >= 400 {
		return fail(exitHTTP, fmt.Errorf("the requested URL returned error: %d", resp.StatusCode))
	}
	out, closeOut, err := o.openOutput(stdout)
	if err != nil {
		return fail(exitWrite, err)
	}
	defer closeOut()
	if o.include {
		writeHead(out, resp)
	}
	n, err := io.Copy(out, resp.Body)
	if err != nil {
		return fail(transportExit(err), err)
	}
	if o.writeOut != "" {
		fmt.Fprint(stdout, expandWriteOut(o.writeOut, resp, n, time.Since(start)))
	}
	return 0
}

// request builds the request: a URL without a scheme is http://, -d makes it a
// form POST unless -X or -H say otherwise.
func (o curlOpts) request(ctx context.Context) (*http.Request, error) {
	raw := o.url
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("URL rejected: %q", o.url)
	}
	var body io.Reader
	method := o.method
	if len(o.data) > 0 {
		b, err := o.body()
		if err != nil {
			return nil, err
		}
		body = strings.NewReader(b)
		if method == "" {
			method = http.MethodPost
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "curl/8 (rampart-demo)")
	req.Header.Set("Accept", "*/*")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range o.headers {
		k, v, _ := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req, nil
}

// body joins the -d values with '&' as curl does, reading "@file" values.
func (o curlOpts) body() (string, error) {
	parts := make([]string, 0, len(o.data))
	for _, d := range o.data {
		if name, ok := strings.CutPrefix(d, "@"); ok {
			b, err := readBounded(name)
			if err != nil {
				return "", err
			}
			d = strings.NewReplacer("\r", "", "\n", "").Replace(string(b))
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, "&"), nil
}

func readBounded(name string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDataFile+1))
	if err == nil && len(b) > maxDataFile {
		err = fmt.Errorf("%s: larger than %d bytes", name, maxDataFile)
	}
	return b, err
}

func (o curlOpts) openOutput(stdout io.Writer) (io.Writer, func(), error) {
	if o.output == "" || o.output == "-" {
		return stdout, func() {}, nil
	}
	f, err := os.Create(o.output)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func writeHead(w io.Writer, resp *http.Response) {
	fmt.Fprintf(w, "%s %s\r\n", resp.Proto, resp.Status)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprint(w, "\r\n")
}

// expandWriteOut expands the -w variables this client knows and \n, \t, \r;
// unknown variables expand to nothing, as in curl.
func expandWriteOut(f string, resp *http.Response, size int64, took time.Duration) string {
	vars := map[string]string{
		"http_code":     strconv.Itoa(resp.StatusCode),
		"response_code": strconv.Itoa(resp.StatusCode),
		"size_download": strconv.FormatInt(size, 10),
		"time_total":    strconv.FormatFloat(took.Seconds(), 'f', 6, 64),
		"url_effective": resp.Request.URL.String(),
		"method":        resp.Request.Method,
		"content_type":  resp.Header.Get("Content-Type"),
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		switch {
		case f[i] == '\\' && i+1 < len(f):
			i++
			switch f[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte('\\')
				b.WriteByte(f[i])
			}
		case strings.HasPrefix(f[i:], "%{"):
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				b.WriteString(f[i:])
				return b.String()
			}
			b.WriteString(vars[f[i+2:i+end]])
			i += end
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// transportExit maps a failed exchange onto curl's exit codes.
func transportExit(err error) int {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return exitTimeout
	case errors.As(err, &dnsErr):
		return exitResolve
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return exitConnect
	}
	return exitRecvFail
}

package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// errGone is a watch (or list continuation) whose resourceVersion is too old:
// the only way on is a fresh list.
var errGone = errors.New("resource version gone")

// StatusError is a non-200 answer of the API server.
type StatusError struct {
	Path    string
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s: %s", e.Path, e.Code, http.StatusText(e.Code), e.Message)
}

// Permanent reports whether retrying cannot help without a change elsewhere
// (credentials or RBAC).
func (e *StatusError) Permanent() bool {
	return e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden || e.Code == http.StatusNotFound
}

// client issues GETs to the API server.
type client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

func newClient(cfg Config) (*client, error) {
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: cfg.TLS.Clone(), ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 30 * time.Second,
		// Watches are long-lived streams: pings find a dead connection the
		// server's timeoutSeconds would otherwise take minutes to end.
		HTTP2: &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
	}
	return &client{cfg: cfg, base: base, http: &http.Client{Transport: tr}}, nil
}

func (c *client) token() (string, error) {
	if c.cfg.TokenFile == "" {
		return c.cfg.Token, nil
	}
	b, err := os.ReadFile(c.cfg.TokenFile)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// get returns the body of a 200 answer; the caller closes it.
func (c *client) get(ctx context.Context, path string, q url.Values) (io.ReadCloser, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "rampart-proxy")
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	return nil, statusError(path, resp)
}

func statusError(path string, resp *http.Response) error {
	if resp.StatusCode == http.StatusGone {
		return errGone
	}
	var st struct {
		Message string `json:"message"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(body, &st) != nil || st.Message == "" {
		st.Message = strings.TrimSpace(string(body))
	}
	return &StatusError{Path: path, Code: resp.StatusCode, Message: st.Message}
}

// list reads every page of a collection, handing each item to each as it is
// decoded (a page is never held whole: a list of thousands of pods would
// otherwise cost megabytes at start), and returns the list's resourceVersion.
func (c *client) list(ctx context.Context, path string, each func(json.RawMessage) error) (string, error) {
	q := url.Values{"limit": {"500"}}
	for {
		body, err := c.get(ctx, path, q)
		if err != nil {
			return "", err
		}
		meta, err := readList(json.NewDecoder(body), each)
		body.Close()
		if err != nil {
			return "", fmt.Errorf("decode %s: %w", path, err)
		}
		if meta.Continue == "" {
			return meta.ResourceVersion, nil
		}
		q.Set("continue", meta.Continue)
	}
}

type listMeta struct {
	ResourceVersion string `json:"resourceVersion"`
	Continue        string `json:"continue"`
}

// readList walks one list object: its metadata, and its items one at a time.
func readList(dec *json.Decoder, each func(json.RawMessage) error) (listMeta, error) {
	var meta listMeta
	if err := expectDelim(dec, '{'); err != nil {
		return meta, err
	}
	seenItems := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return meta, err
		}
		key, _ := tok.(string)
		// Keys match case-insensitively, as encoding/json matches struct fields.
		switch {
		case strings.EqualFold(key, "metadata"):
			err = dec.Decode(&meta)
		case strings.EqualFold(key, "items") && seenItems:
			err = errors.New("items listed twice")
		case strings.EqualFold(key, "items"):
			seenItems, err = true, readItems(dec, each)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return meta, err
		}
	}
	return meta, expectDelim(dec, '}')
}

func readItems(dec *json.Decoder, each func(json.RawMessage) error) error {
	if tok, err := dec.Token(); err != nil || tok == nil { // "items": null
		return err
	} else if tok != json.Delim('[') {
		return fmt.Errorf("items: want an array, got %v", tok)
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := each(raw); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("want %v, got %v", d, tok)
	}
	return nil
}

// event is one line of a watch stream.
type event struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// watch streams events after rv to on until the server ends the stream (nil),
// ctx ends, or an error; it returns the last resourceVersion seen.
func (c *client) watch(ctx context.Context, path, rv string, timeout time.Duration, on func(event) (string, error)) (string, error) {
	q := url.Values{"watch": {"true"}, "resourceVersion": {rv}, "allowWatchBookmarks": {"true"},
		"timeoutSeconds": {strconv.Itoa(max(1, int(timeout.Seconds())))}}
	body, err := c.get(ctx, path, q)
	if err != nil {
		return rv, err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var ev event
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return rv, nil
			}
			return rv, fmt.Errorf("watch %s: %w", path, err)
		}
		next, err := on(ev)
		if err != nil {
			return rv, err
		}
		if next != "" {
			rv = next
		}
	}
}

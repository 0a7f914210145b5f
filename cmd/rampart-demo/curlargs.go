package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// curlOpts is the part of curl's command line that Cilium's guide and everyday
// debugging use. Anything else is refused, so a script never silently gets a
// different request than it asked for.
type curlOpts struct {
	method    string
	url       string
	headers   []string
	data      []string
	output    string
	writeOut  string
	maxTime   time.Duration
	connectTO time.Duration
	silent    bool
	showError bool
	fail      bool
	include   bool
	location  bool
}

// Short options that take a value, and their long names.
var curlValueOpts = map[byte]string{'X': "request", 'm': "max-time", 'H': "header", 'd': "data", 'o': "output", 'w': "write-out"}

// longValueOpts take a value and have no short form.
var longValueOpts = []string{"connect-timeout"}

// Short flags without a value, and their long names.
var curlBoolOpts = map[byte]string{'s': "silent", 'S': "show-error", 'f': "fail", 'i': "include", 'L': "location"}

// maxCurlArgs bounds what the parser accepts; curl itself has no such need, but a
// demo client has no use for more.
const maxCurlArgs = 256

// parseCurlArgs parses curl-style arguments: bundled short flags (-sS), values
// attached or separate (-XPOST, -X POST, --request=POST), "--" ending options.
func parseCurlArgs(args []string) (curlOpts, error) {
	var o curlOpts
	if len(args) > maxCurlArgs {
		return o, fmt.Errorf("too many arguments (%d > %d)", len(args), maxCurlArgs)
	}
	var urls []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s: requires a value", a)
			}
			i++
			return args[i], nil
		}
		switch {
		case a == "--":
			urls = append(urls, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			if isBoolLong(name) {
				if hasVal {
					return o, fmt.Errorf("option --%s: takes no value", name)
				}
				o.setBool(name)
				continue
			}
			name = canonicalLong(name)
			if !isValueLong(name) {
				return o, fmt.Errorf("option --%s: unknown", name)
			}
			if !hasVal {
				v, err := next()
				if err != nil {
					return o, err
				}
				val = v
			}
			if err := o.setValue(name, val); err != nil {
				return o, err
			}
		case len(a) > 1 && a[0] == '-':
			if err := o.parseShort(a, next); err != nil {
				return o, err
			}
		default:
			urls = append(urls, a)
		}
	}
	if len(urls) != 1 {
		return o, fmt.Errorf("want exactly one URL, got %d", len(urls))
	}
	o.url = urls[0]
	return o, nil
}

// parseShort handles one "-abc" token: flags until a value option, whose value is
// the rest of the token or the next argument.
func (o *curlOpts) parseShort(a string, next func() (string, error)) error {
	for j := 1; j < len(a); j++ {
		c := a[j]
		if name, ok := curlBoolOpts[c]; ok {
			o.setBool(name)
			continue
		}
		name, ok := curlValueOpts[c]
		if !ok {
			return fmt.Errorf("option -%c: unknown", c)
		}
		val := a[j+1:]
		if val == "" {
			v, err := next()
			if err != nil {
				return err
			}
			val = v
		}
		return o.setValue(name, val)
	}
	return nil
}

func isBoolLong(name string) bool {
	for _, n := range curlBoolOpts {
		if n == name {
			return true
		}
	}
	return false
}

func isValueLong(name string) bool {
	for _, n := range curlValueOpts {
		if n == name {
			return true
		}
	}
	for _, n := range longValueOpts {
		if n == name {
			return true
		}
	}
	return false
}

// canonicalLong maps curl's data variants onto --data (they differ only in how
// curl reads @files and newlines, which this client does not emulate).
func canonicalLong(name string) string {
	switch name {
	case "data-raw", "data-binary", "data-ascii":
		return "data"
	}
	return name
}

func (o *curlOpts) setBool(name string) {
	switch name {
	case "silent":
		o.silent = true
	case "show-error":
		o.showError = true
	case "fail":
		o.fail = true
	case "include":
		o.include = true
	case "location":
		o.location = true
	}
}

func (o *curlOpts) setValue(name, val string) error {
	switch name {
	case "request":
		if val == "" || strings.ContainsAny(val, " \t\r\n") {
			return fmt.Errorf("option -X: bad method %q", val)
		}
		o.method = val
	case "max-time":
		d, err := seconds("-m", val)
		if err != nil {
			return err
		}
		o.maxTime = d
	case "connect-timeout":
		d, err := seconds("--connect-timeout", val)
		if err != nil {
			return err
		}
		o.connectTO = d
	case "header":
		k, _, ok := strings.Cut(val, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(val, "\r\n") {
			return fmt.Errorf("option -H: want \"Name: value\", got %q", val)
		}
		o.headers = append(o.headers, val)
	case "data":
		o.data = append(o.data, val)
	case "output":
		o.output = val
	case "write-out":
		o.writeOut = val
	default:
		return errors.New("unreachable option " + name)
	}
	return nil
}

// seconds parses curl's fractional seconds, bounded to a day.
func seconds(opt, val string) (time.Duration, error) {
	s, err := strconv.ParseFloat(val, 64)
	if err != nil || !(s > 0 && s <= 86400) {
		return 0, fmt.Errorf("option %s: want seconds in (0, 86400], got %q", opt, val)
	}
	return time.Duration(s * float64(time.Second)), nil
}

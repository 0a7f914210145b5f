package decisionlog

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// setRampart reads Rampart's object {allowed, dry_run, reason, ...} without
// encoding/json, reporting false (the caller then uses encoding/json) for anything
// it would not read the same: a shadow verdict, a key in another case or with
// escapes, a key given twice, a value of another type.
func (l *line) setRampart(val []byte) bool {
	if string(val) == "null" {
		l.Rampart = nil
		return true
	}
	var (
		o    outcome
		seen uint8
		ok   = true
	)
	err := topLevel(val, func(key, v []byte) {
		if !ok {
			return
		}
		switch string(key) {
		case "allowed":
			ok = once(&seen, 1) && plainBool(v, &o.Allowed)
		case "dry_run":
			ok = once(&seen, 2) && plainBool(v, &o.DryRun)
		case "reason":
			ok = once(&seen, 4) && plainString(v, &o.Reason)
		default: // shadow, or a key encoding/json might match to a field
			ok = !foldsTo(key, "allowed", "dry_run", "reason", "shadow") && json.Valid(v)
		}
	})
	if err != nil || !ok {
		return false
	}
	l.Rampart = &o
	return true
}

func once(seen *uint8, bit uint8) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// plainBool reads true, false or null (leaving dst).
func plainBool(v []byte, dst *bool) bool {
	switch string(v) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	case "null":
	default:
		return false
	}
	return true
}

// foldsTo reports a key encoding/json might match to one of names: escaped,
// non-ASCII, or equal but for case.
func foldsTo(key []byte, names ...string) bool {
	if bytes.IndexByte(key, '\\') >= 0 {
		return true
	}
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// bundleRevision reads the revision of OPA's bundles object {name: {revision},
// ...} as revision does, without building a map: n is how many bundles it names,
// ok false when it cannot read it as encoding/json would.
func bundleRevision(val []byte) (rev string, n int, ok bool) {
	if string(val) == "null" {
		return "", 0, true
	}
	type named struct{ name, rev []byte }
	var stack [2]named
	all := stack[:0]
	ok = true
	err := topLevel(val, func(key, v []byte) {
		if !ok {
			return
		}
		r, plain := plainRevision(v)
		ok = plain && bytes.IndexByte(key, '\\') < 0 && utf8.Valid(key)
		for _, b := range all {
			ok = ok && !bytes.Equal(b.name, key) // given twice: encoding/json keeps the last
		}
		all = append(all, named{key, r})
	})
	if err != nil || !ok {
		return "", 0, false
	}
	switch len(all) {
	case 0:
		return "", 0, true
	case 1:
		return string(all[0].rev), 1, true
	}
	slices.SortFunc(all, func(a, b named) int { return bytes.Compare(a.name, b.name) })
	revs := make([]string, len(all))
	for i, b := range all {
		revs[i] = string(b.rev)
	}
	return strings.Join(revs, ","), len(all), true
}

// plainRevision reads a bundle's {revision, ...} without encoding/json, reporting
// false when it cannot read it as encoding/json would.
func plainRevision(val []byte) ([]byte, bool) {
	var (
		rev  []byte
		seen uint8
		ok   = true
	)
	err := topLevel(val, func(key, v []byte) {
		if !ok {
			return
		}
		if string(key) == "revision" {
			ok = once(&seen, 1)
			if string(v) != "null" {
				ok = ok && len(v) >= 2 && v[0] == '"' && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v)
				if ok {
					rev = v[1 : len(v)-1]
				}
			}
			return
		}
		ok = !foldsTo(key, "revision") && json.Valid(v)
	})
	return rev, err == nil && ok
}

package kube

// White-box on purpose: the list reader is unexported, and reaching it from
// outside would need a fake API server per fuzz input.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadList reads every file in testdata/list: the good ones give their
// resourceVersion and items, the bad-* ones an error.
func TestReadList(t *testing.T) {
	want := map[string]string{
		"podlist.json":     "rv=1042 continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ items=1",
		"null-items.json":  "rv=7 continue= items=0",
		"items-first.json": "rv=8 continue= items=0",
	}
	files, _ := filepath.Glob("testdata/list/*.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		got, err := summarizeList(data)
		switch {
		case strings.HasPrefix(name, "bad-"):
			if err == nil {
				t.Errorf("%s: read as %q, want an error", name, got)
			}
		case err != nil || got != want[name]:
			t.Errorf("%s: %q %v, want %q", name, got, err, want[name])
		}
	}
}

func summarizeList(data []byte) (string, error) {
	n := 0
	meta, err := readList(json.NewDecoder(bytes.NewReader(data)), func(json.RawMessage) error { n++; return nil })
	return "rv=" + meta.ResourceVersion + " continue=" + meta.Continue + " items=" + itoa(n), err
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// FuzzReadList checks the streaming reader against decoding the whole list at
// once: whatever both accept must give the same version, token and items.
func FuzzReadList(f *testing.F) {
	files, _ := filepath.Glob("testdata/list/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var items []json.RawMessage
		meta, err := readList(json.NewDecoder(bytes.NewReader(data)), func(r json.RawMessage) error {
			items = append(items, r)
			return nil
		})
		var whole struct {
			Metadata listMeta          `json:"metadata"`
			Items    []json.RawMessage `json:"items"`
		}
		if err != nil || json.Unmarshal(data, &whole) != nil {
			return
		}
		if meta != whole.Metadata || len(items) != len(whole.Items) {
			t.Errorf("streamed %+v with %d items, whole %+v with %d", meta, len(items), whole.Metadata, len(whole.Items))
		}
	})
}

package redirect_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

// TestBadOptions: every file in testdata/bad_options is refused before anything is
// loaded or pinned.
func TestBadOptions(t *testing.T) {
	files, err := filepath.Glob("testdata/bad_options/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad options files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var o redirect.Options
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			o.PinRoot = t.TempDir()
			if _, err := redirect.Attach(o); !errors.Is(err, redirect.ErrBadOptions) {
				t.Fatalf("Attach = %v, want ErrBadOptions", err)
			}
		})
	}
}

func TestFeatureErrorWrapsNotSupported(t *testing.T) {
	var err error = &redirect.FeatureError{Feature: "BPF_PROG_TYPE_SK_LOOKUP", MinKernel: "5.9", Err: ebpf.ErrNotSupported}
	if !errors.Is(err, ebpf.ErrNotSupported) {
		t.Fatal("FeatureError does not wrap ebpf.ErrNotSupported")
	}
	var fe *redirect.FeatureError
	if !errors.As(err, &fe) || fe.MinKernel != "5.9" {
		t.Fatalf("errors.As: %v", fe)
	}
}

// TestCheckKernel: this kernel (6.18) has every feature capture needs.
func TestCheckKernel(t *testing.T) {
	podtest.RequireRoot(t)
	if err := redirect.CheckKernel(); err != nil {
		t.Fatal(err)
	}
}

package injector_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-mesh/rampart/injector"
)

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	if len(files) == 0 {
		f.Fatalf("no seeds match %s", pattern)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeReview feeds arbitrary bodies to the admission decoder and, when they
// decode, to the handler: nothing may panic, and a decoded request always has a UID
// and gets a complete response (allowed with a JSON patch, or refused with a code).
func FuzzDecodeReview(f *testing.F) {
	addSeeds(f, "testdata/review/*.json")
	h, err := injector.NewHandler(injector.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := injector.DecodeReview(body)
		if err != nil {
			return
		}
		if req.UID == "" {
			t.Fatal("decoded a request without a UID")
		}
		resp := h.Handle(context.Background(), req)
		if err := resp.Complete(req); err != nil {
			t.Fatalf("complete: %v", err)
		}
		if resp.Allowed == (resp.Result.Code >= 400) {
			t.Fatalf("allowed %v with code %d", resp.Allowed, resp.Result.Code)
		}
	})
}

// FuzzInjectYAML feeds arbitrary manifests to the offline injector: nothing may
// panic, and injecting its own output again changes nothing (never inject twice).
func FuzzInjectYAML(f *testing.F) {
	addSeeds(f, "testdata/mutate/*.yaml")
	addSeeds(f, "testdata/inject/*.yaml")
	f.Fuzz(func(t *testing.T, in []byte) {
		var once bytes.Buffer
		if err := injector.InjectYAML(bytes.NewReader(in), &once, injector.Config{}); err != nil {
			return
		}
		var twice bytes.Buffer
		if err := injector.InjectYAML(bytes.NewReader(once.Bytes()), &twice, injector.Config{}); err != nil {
			t.Fatalf("re-injecting own output: %v\n%s", err, once.Bytes())
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("second injection changed the output:\n%s\n---- became\n%s", once.Bytes(), twice.Bytes())
		}
	})
}

package redirect_test

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/rampart-mesh/rampart/redirect"
)

// A kernel without a feature yields an error that names it and the first Linux
// version that has it, and still matches ebpf.ErrNotSupported.
func ExampleFeatureError() {
	err := fmt.Errorf("attach pod-a: %w", &redirect.FeatureError{
		Feature: "BPF_PROG_TYPE_SK_LOOKUP", MinKernel: "5.9", Err: ebpf.ErrNotSupported,
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, ebpf.ErrNotSupported))
	// Output:
	// attach pod-a: kernel lacks BPF_PROG_TYPE_SK_LOOKUP (needs Linux 5.9 or later): not supported
	// true
}

//go:build tools

// Package h2spec pins h2spec, the HTTP/2 conformance suite that
// sidecar/internal/hbone's TestH2Spec runs against the HBONE server. It is its
// own module so h2spec's dependencies never enter the main module.
package h2spec

import _ "github.com/summerwind/h2spec/cmd/h2spec"

//go:build tools

// Package registry pins the CNCF distribution registry that the image push/pull
// tests run against. It is its own module so distribution's dependencies (cloud
// storage drivers, redis, ...) never enter the main module.
package registry

import _ "github.com/distribution/distribution/v3/cmd/registry"

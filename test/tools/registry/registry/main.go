// Command registry is the CNCF distribution registry with only the storage driver
// Rampart's tests use (filesystem). distribution's own cmd/registry also links the
// Azure, GCS and S3 drivers and their SDKs, which made a cold build several times
// longer for code the tests never run.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}

// Package images builds Rampart's OCI images without Docker or any daemon, with
// go-containerregistry (the library ko and crane use), and pushes them.
//
// Every image is scratch plus two layers: a base layer shared by all of them
// (CA certificates from the build machine's system bundle, /etc/passwd and
// /etc/group naming root, rampart 1337 and nonroot 65532, /etc/nsswitch.conf, /tmp)
// and one layer holding a static binary (CGO_ENABLED=0, -trimpath, stripped,
// version stamped with -ldflags -X) under /usr/local/bin.
//
// Builds are reproducible: the same commit, Go toolchain and CA bundle give the
// same digests. Tar entries are sorted and carry fixed owners and the commit time
// (SOURCE_DATE_EPOCH) as mtime, gzip output has no timestamp, and the config's
// created times and OCI labels are fixed by the options.
//
// The package stays out of the product binaries: only cmd/rampart-images imports it.
package images

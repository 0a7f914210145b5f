package images

import (
	"fmt"
	"os"
)

// DefaultCACerts is the Debian (and Ubuntu, Alpine) system CA bundle.
const DefaultCACerts = "/etc/ssl/certs/ca-certificates.crt"

// Users and groups of every image. 1337 is the proxy (injector.ProxyUID), 65532
// the distroless "nonroot" convention.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"rampart:x:1337:1337:rampart proxy:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\n" +
		"rampart:x:1337:\n" +
		"nonroot:x:65532:\n"
	// nsswitch.conf makes Go's resolver read /etc/hosts before DNS, as glibc would.
	nsswitch = "hosts: files dns\n"
)

// baseEntries is the layer every image shares: the filesystem a static Go
// binary expects around it.
func baseEntries(caCerts string) ([]entry, error) {
	ca, err := os.ReadFile(caCerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	if len(ca) == 0 {
		return nil, fmt.Errorf("CA certificates: %s is empty", caCerts)
	}
	dir := func(p string, mode int64, id int) entry {
		return entry{path: p, mode: mode, uid: id, gid: id, dir: true}
	}
	file := func(p string, body []byte) entry { return entry{path: p, mode: 0o644, body: body} }
	return []entry{
		dir("etc", 0o755, 0),
		dir("etc/ssl", 0o755, 0),
		dir("etc/ssl/certs", 0o755, 0),
		file("etc/ssl/certs/ca-certificates.crt", ca),
		file("etc/passwd", []byte(passwd)),
		file("etc/group", []byte(group)),
		file("etc/nsswitch.conf", []byte(nsswitch)),
		dir("home", 0o755, 0),
		dir("home/nonroot", 0o700, 65532),
		dir("root", 0o700, 0),
		dir("tmp", 0o1777, 0),
		dir("usr", 0o755, 0),
		dir("usr/local", 0o755, 0),
		dir("usr/local/bin", 0o755, 0),
	}, nil
}

// appEntries is the layer holding one binary and its multi-call links.
func appEntries(s spec, binary []byte) []entry {
	rel := BinDir[1:] + "/"
	es := []entry{{path: rel + s.name, mode: 0o755, body: binary}}
	for _, l := range s.links {
		es = append(es, entry{path: rel + l, mode: 0o777, link: s.name})
	}
	return es
}

package identity

import (
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Source provides this workload's current X.509 SVID and the trust bundles used to
// verify peers. Every source in this package implements it, and ServerConfig and
// ClientConfig read it on each handshake, so a rotated SVID or bundle takes effect on
// the next handshake without touching listeners or established connections.
type Source interface {
	x509svid.Source
	x509bundle.Source
}

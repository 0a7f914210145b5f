package identity_test

import (
	"errors"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
)

// TestHandshakeValidPair: a client and server with SVIDs from one built-in CA complete
// TLS 1.3 with ALPN h2 over real TCP, and each side sees the other's SPIFFE ID.
func TestHandshakeValidPair(t *testing.T) {
	ca := newCA(t, testTD)
	srv := startWhoami(t, identity.ServerConfig(rotating(t, ca, serverID, 0), testTD, identity.TLSOptions{}))
	c, err := dial(srv.addr(), identity.ClientConfig(rotating(t, ca, clientID, 0), identity.AllowID(serverID), identity.TLSOptions{}))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	cs := c.ConnectionState()
	if cs.NegotiatedProtocol != "h2" || cs.Version != 0x0304 {
		t.Errorf("negotiated %q version %#x, want h2 over TLS 1.3", cs.NegotiatedProtocol, cs.Version)
	}
	if got, err := identity.PeerID(cs); err != nil || got != serverID {
		t.Errorf("client sees server %v (%v), want %v", got, err, serverID)
	}
	got, err := ask(c)
	if err != nil || got != clientID.String() {
		t.Errorf("server sees client %q (%v), want %v", got, err, clientID)
	}
}

// TestHandshakeClientRequiresOtherID: a client that requires an ID the server does
// not hold refuses the server.
func TestHandshakeClientRequiresOtherID(t *testing.T) {
	ca := newCA(t, testTD)
	srv := startWhoami(t, identity.ServerConfig(rotating(t, ca, serverID, 0), testTD, identity.TLSOptions{}))
	_, err := dial(srv.addr(), identity.ClientConfig(rotating(t, ca, clientID, 0), identity.AllowID(clientID), identity.TLSOptions{}))
	if !errors.Is(err, identity.ErrUnauthorizedID) {
		t.Fatalf("handshake error %v, want ErrUnauthorizedID", err)
	}
}

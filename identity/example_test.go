package identity_test

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Two proxies with SVIDs from one built-in CA authenticate each other over mTLS, and
// the server reads the client's SPIFFE ID.
func Example() {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	ca, _ := identity.NewCA(td, 0)

	deathstar, _ := identity.NewWorkloadID(td, "default", "deathstar")
	tiefighter, _ := identity.NewWorkloadID(td, "default", "tiefighter")
	serverSrc, _ := identity.NewRotatingSource(ca, deathstar, identity.RotatingOptions{})
	defer serverSrc.Close()
	clientSrc, _ := identity.NewRotatingSource(ca, tiefighter, identity.RotatingOptions{})
	defer clientSrc.Close()

	ln, _ := tls.Listen("tcp", "127.0.0.1:0", identity.ServerConfig(serverSrc, td, identity.TLSOptions{}))
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			return
		}
		peer, _ := identity.PeerID(tc.ConnectionState())
		w, _ := identity.WorkloadOf(peer)
		fmt.Fprintf(c, "hello %s from namespace %s\n", w.ServiceAccount, w.Namespace)
	}()

	conn, err := tls.Dial("tcp", ln.Addr().String(), identity.ClientConfig(clientSrc, identity.AllowID(deathstar), identity.TLSOptions{}))
	if err != nil {
		fmt.Println("handshake:", err)
		return
	}
	defer conn.Close()
	server, _ := identity.PeerID(conn.ConnectionState())
	fmt.Println("server:", server)
	var a, b, c, d, e string
	fmt.Fscanln(conn, &a, &b, &c, &d, &e)
	fmt.Println(a, b, c, d, e)
	// Output:
	// server: spiffe://cluster.local/ns/default/sa/deathstar
	// hello tiefighter from namespace default
}

func ExampleParseWorkloadID() {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	w, err := identity.ParseWorkloadID(td, "spiffe://cluster.local/ns/default/sa/xwing")
	fmt.Println(w.Namespace, w.ServiceAccount, err)
	_, err = identity.ParseWorkloadID(td, "spiffe://cluster.local/ns/default/sa/xwing/extra")
	fmt.Println(err != nil)
	// Output:
	// default xwing <nil>
	// true
}

// The built-in CA issues short-lived ECDSA P-256 SVIDs whose only SAN is the SPIFFE ID.
func ExampleCA_Issue() {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	ca, _ := identity.NewCA(td, 0)
	id, _ := identity.NewWorkloadID(td, "default", "tiefighter")
	svid, _ := ca.Issue(id, 10*time.Minute)
	leaf := svid.Certificates[0]
	fmt.Println(leaf.URIs[0], len(leaf.DNSNames), leaf.PublicKeyAlgorithm, leaf.IsCA)
	_, err := ca.Issue(spiffeid.RequireFromString("spiffe://other.test/ns/default/sa/x"), time.Minute)
	fmt.Println(err)
	// Output:
	// spiffe://cluster.local/ns/default/sa/tiefighter 0 ECDSA false
	// issue spiffe://other.test/ns/default/sa/x: wrong trust domain: CA issues for "cluster.local" only
}

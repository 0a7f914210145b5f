package tlshello_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
)

func ExampleRead() {
	app, proxy := net.Pipe()
	go tls.Client(app, &tls.Config{ServerName: "GitHub.com."}).Handshake()

	raw, h, err := tlshello.Read(proxy, 0)
	fmt.Println(h.ServerName, h.IPLiteral, h.ECH, err, len(raw) > 0)
	app.Close()

	_, _, err = tlshello.Read(bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n")), 0)
	fmt.Println(err)
	// Output:
	// github.com false false <nil> true
	// tlshello: not a TLS handshake
}

package demo

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/egress/egresstest"
)

// internetCerts are the files of the internet's TLS: a CA the clients trust and
// one certificate naming every host.
type internetCerts struct{ ca, cert, key string }

func writeInternetCerts(env *Env) (internetCerts, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return internetCerts{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return internetCerts{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return internetCerts{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	for name := range InternetHosts {
		tmpl.DNSNames = append(tmpl.DNSNames, name)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		return internetCerts{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return internetCerts{}, err
	}
	c := internetCerts{ca: env.Path("internet-ca.pem"), cert: env.Path("internet-cert.pem"), key: env.Path("internet-key.pem")}
	for path, block := range map[string]*pem.Block{c.ca: {Type: "CERTIFICATE", Bytes: caDER},
		c.cert: {Type: "CERTIFICATE", Bytes: der}, c.key: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := writeFile(path, pem.EncodeToMemory(block)); err != nil {
			return internetCerts{}, err
		}
	}
	return c, nil
}

// serveInternet is the "internet" helper: args cert, key, hosts (name=ip,...). It
// serves every host on :80 and :443 and names them on :53, and prints
// "SEEN <host>" for each request, the host being the one whose address was
// reached (not what the request claims).
func serveInternet(args []string) error {
	if len(args) != 3 {
		return errors.New("internet: want CERT KEY HOSTS")
	}
	cert, err := tls.LoadX509KeyPair(args[0], args[1])
	if err != nil {
		return err
	}
	hosts, err := parseHosts(args[2])
	if err != nil {
		return err
	}
	records := map[string][]netip.Addr{}
	byIP := map[netip.Addr]string{}
	for name, ip := range hosts {
		records[name], byIP[ip] = []netip.Addr{ip}, name
	}
	dns, err := egresstest.ServeDNS(":53", records)
	if err != nil {
		return err
	}
	defer dns.Close()
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		ap, _ := netip.ParseAddrPort(local.String())
		name := byIP[ap.Addr().Unmap()]
		mu.Lock()
		fmt.Printf("SEEN %s\n", name)
		mu.Unlock()
		fmt.Fprintf(w, "hello from %s\n", name)
	})
	plain, err := net.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	tcp443, err := net.Listen("tcp", ":443")
	if err != nil {
		return err
	}
	plain = connLogger{plain, byIP, &mu}
	secure := tls.NewListener(connLogger{tcp443, byIP, &mu}, &tls.Config{Certificates: []tls.Certificate{cert}})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(plain) }()
	go func() { errc <- srv.Serve(secure) }()
	fmt.Println("READY")
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); errc <- nil }() // stdin closed: stop
	return <-errc
}

// connLogger prints "CONN <host> <port>" for every connection accepted: bytes
// that reach a host at all, HTTP or not.
type connLogger struct {
	net.Listener
	byIP map[netip.Addr]string
	mu   *sync.Mutex
}

func (l connLogger) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		ap, _ := netip.ParseAddrPort(c.LocalAddr().String())
		l.mu.Lock()
		fmt.Printf("CONN %s %d\n", l.byIP[ap.Addr().Unmap()], ap.Port())
		if from, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
			fmt.Printf("FROM %s %s\n", l.byIP[ap.Addr().Unmap()], from.Addr().Unmap())
		}
		l.mu.Unlock()
	}
	return c, err
}

// runEgressClient is the "egress-client" helper: args CA file; lines
// "GET URL ADDR" fetch URL over a fresh connection to ADDR (port from the URL),
// as an app that resolved the name to ADDR would, and answer a Result line.
func runEgressClient(args []string, in io.Reader, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("egress-client: want CA-FILE")
	}
	pemBytes, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	enc := json.NewEncoder(out)
	fmt.Fprintln(out, "READY")
	s := bufio.NewScanner(in)
	s.Buffer(make([]byte, 0, 64<<10), 1<<20) // RAW lines carry up to 64 KiB hellos in hex
	for s.Scan() {
		f := strings.Fields(s.Text())
		var r Result
		switch {
		case len(f) == 4 && f[0] == "RAW":
			r = sendRaw(f[1], f[2], f[3])
		case len(f) == 3:
			r = egressGet(roots, f[0], f[1], f[2])
		default:
			continue
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return s.Err()
}

func egressGet(roots *x509.CertPool, method, url, addr string) Result {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(hostport)
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(addr, port))
		}}}
	return do(c, method, url)
}

// sendRaw connects to addr, writes the hex-encoded bytes seg bytes at a time
// (0: at once), half-closes, and returns what came back, hex-encoded, as Body.
func sendRaw(addr, seg, hexBytes string) Result {
	r := Result{Method: "RAW", URL: addr}
	b, err := hex.DecodeString(hexBytes)
	n, _ := strconv.Atoi(seg)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	for len(b) > 0 {
		k := len(b)
		if n > 0 {
			k = min(n, k)
		}
		if _, err := c.Write(b[:k]); err != nil {
			break
		}
		b = b[k:]
		if n > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(c)
	r.Body = hex.EncodeToString(out)
	return r
}

// seenLines counts the internet helper's SEEN lines by host.
type seenLines struct {
	mu sync.Mutex
	n  map[string]int
}

func collectSeen(p *Proc) *seenLines {
	s := &seenLines{n: map[string]int{}}
	go func() {
		for l := range p.Lines() {
			if host, ok := strings.CutPrefix(l, "SEEN "); ok {
				s.mu.Lock()
				s.n[host]++
				s.mu.Unlock()
			}
			if from, ok := strings.CutPrefix(l, "FROM "); ok {
				s.mu.Lock()
				s.n["from "+from]++
				s.mu.Unlock()
			}
			if conn, ok := strings.CutPrefix(l, "CONN "); ok {
				s.mu.Lock()
				s.n["conn "+conn]++
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *seenLines) count(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[host]
}

package egresstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS answers A and AAAA queries for the names it was given, NXDOMAIN for others.
type DNS struct {
	conn    net.PacketConn
	records map[string][]netip.Addr // fully qualified, lower case
	wg      sync.WaitGroup
}

// ServeDNS starts a server on addr ("127.0.0.1:0", "198.18.0.1:53") answering
// records (name → addresses). Close it when done.
func ServeDNS(addr string, records map[string][]netip.Addr) (*DNS, error) {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	d := &DNS{conn: c, records: map[string][]netip.Addr{}}
	for name, ips := range records {
		d.records[strings.ToLower(strings.TrimSuffix(name, "."))+"."] = ips
	}
	d.wg.Add(1)
	go d.serve()
	return d, nil
}

// Addr is where the server listens.
func (d *DNS) Addr() string { return d.conn.LocalAddr().String() }

// Resolver is a Go resolver that asks only this server.
func (d *DNS) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", d.Addr())
	}}
}

// Close stops the server.
func (d *DNS) Close() error {
	err := d.conn.Close()
	d.wg.Wait()
	return err
}

func (d *DNS) serve() {
	defer d.wg.Done()
	buf := make([]byte, 512)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		if out, err := d.answer(buf[:n]); err == nil {
			_, _ = d.conn.WriteTo(out, from)
		}
	}
}

func (d *DNS) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	ips, known := d.records[strings.ToLower(q.Name.String())]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, ip := range ips {
		r := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}
		switch {
		case q.Type == dnsmessage.TypeA && ip.Is4():
			err = b.AResource(r, dnsmessage.AResource{A: ip.As4()})
		case q.Type == dnsmessage.TypeAAAA && ip.Is6() && !ip.Is4In6():
			err = b.AAAAResource(r, dnsmessage.AAAAResource{AAAA: ip.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

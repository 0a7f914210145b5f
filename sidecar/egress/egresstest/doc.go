// Package egresstest is test support for egress: a small authoritative DNS server
// (real UDP, answered with golang.org/x/net/dns/dnsmessage) that tests start in
// the network they build, and a ClientHello builder for the raw-bytes bypass
// corpus. No production code imports it.
package egresstest

// Package sidecar is the Rampart proxy: its listeners (outbound 15001, inbound
// plaintext 15006, inbound HBONE 15008, admin 15020), the HTTP/2 CONNECT tunnel,
// strict HTTP parsing and path normalization, forwarding to the app, and the
// composition of identity (mTLS) with rego (authorization).
package sidecar

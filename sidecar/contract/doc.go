// Package contract declares, once for the proxy side, the ports and user that
// users and the other Rampart components depend on (DESIGN.md, "Contracts"): the
// proxy's listeners inside a pod and the uid the node agent never redirects.
//
// injector and redirect are leaf packages and may not import it; they restate
// these values (injector/constants.go, redirect/options.go), and
// test/contract_test.go fails when any of the three disagrees.
package contract

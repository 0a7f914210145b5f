package main

import (
	"fmt"
	"strconv"

	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// Contract listener addresses inside a pod (DESIGN.md, sidecar/contract).
const (
	podOutbound  = contract.OutboundAddr
	podPlaintext = contract.PlaintextAddr
	podHBONE     = contract.HBONEAddr
	podAdmin     = contract.AdminAddr
)

// inPod reports whether the proxy runs as an injected sidecar: $RAMPART_IN_POD
// when set, else whether $POD_NAME (set by the injector from the downward API)
// is. In a pod the listeners default to the contract ports.
func inPod(lookup func(string) (string, bool)) (bool, error) {
	if v, ok := lookup("RAMPART_IN_POD"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("$RAMPART_IN_POD %q: want true or false", v)
		}
		return b, nil
	}
	name, _ := lookup("POD_NAME")
	return name != "", nil
}

// podDefault returns def in a pod and "" (listener off) elsewhere.
func podDefault(pod bool, def string) string {
	if pod {
		return def
	}
	return ""
}

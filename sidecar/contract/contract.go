package contract

// Ports of the proxy in a pod.
const (
	// OutboundPort is the capture listener on loopback that connect4/connect6
	// send the app's outbound connections to.
	OutboundPort = 15001
	// CheckPort is the port of the capture check's sentinel destination
	// (255.255.255.255:15002), answered by the proxy, never dialled.
	CheckPort = 15002
	// PlaintextPort receives plaintext inbound connections steered by sk_lookup
	// (refused in STRICT mode, authorized as unauthenticated in PERMISSIVE).
	PlaintextPort = 15006
	// HBONEPort is the inbound mTLS HTTP/2 CONNECT tunnel; never steered.
	HBONEPort = 15008
	// AdminPort serves /metrics, /healthz/*, /debug/* and the /app-health probe
	// rewrites; never steered.
	AdminPort = 15020
)

// ProxyUID and ProxyGID are the proxy's user and group; the node agent never
// redirects their sockets.
const (
	ProxyUID = 1337
	ProxyGID = 1337
)

// Listener addresses of an injected proxy, built from the ports above
// (contract_test checks it). The plaintext listener is IPv4 because the node
// agent's sk_lookup steers IPv4 pod traffic to it; the outbound one is on
// loopback, where connect4 sends captured connections.
const (
	OutboundAddr  = "127.0.0.1:15001"
	PlaintextAddr = "0.0.0.0:15006"
	HBONEAddr     = ":15008"
	AdminAddr     = ":15020"
)

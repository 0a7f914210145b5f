package kube

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Field readers over decoded JSON that read in place (unstructured.NestedSlice
// deep-copies) and treat a field of the wrong type as absent (the API server
// never sends one; the trims decide per field which way is the safe one).

// str is the string at path in o, or "".
func str(o map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(o, path...)
	return s
}

// items is the array of objects at path in o; non-object entries are skipped.
func items(o map[string]any, path ...string) []map[string]any {
	v, _, _ := unstructured.NestedFieldNoCopy(o, path...)
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// portOf is the "port" of a ServicePort or EndpointPort, if it is a TCP/UDP
// port number.
func portOf(p map[string]any) (uint16, bool) {
	n, ok, _ := unstructured.NestedInt64(p, "port")
	if !ok || n <= 0 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// tcp reports whether a port entry is TCP (the API's default protocol).
func tcp(p map[string]any) bool {
	proto := str(p, "protocol")
	return proto == "" || proto == "TCP"
}

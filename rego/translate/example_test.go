package translate_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-mesh/rampart/rego/translate"
)

// A policy with a field the sidecar cannot enforce is refused by name.
func ExampleTranslate_refused() {
	_, err := translate.Translate([]translate.Source{{Name: "np.yaml", Data: []byte(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - ports: [{protocol: UDP, port: 53}]
  egress:
  - {}
`)}}, translate.Options{})
	var re *translate.RefusalError
	if errors.As(err, &re) {
		for _, r := range re.Refusals {
			fmt.Println(r)
		}
	}
	// Output:
	// NetworkPolicy shop/db (np.yaml): spec.egress: not supported: the sidecar decides inbound requests only
	// NetworkPolicy shop/db (np.yaml): spec.ingress[0].ports[0].protocol: UDP not supported: the sidecar sees TCP only
}

// The generated rule names its source object and field.
func ExampleTranslate() {
	b, err := translate.Translate([]translate.Source{{Name: "np.yaml", Data: []byte(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
`)}}, translate.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(section(string(b.Rego), "# NetworkPolicy shop/db spec.ingress[0]", "\n\n"))
	fmt.Println(section(string(b.Rego), "selects_1 if", "\n\n"))
	// Output:
	// # NetworkPolicy shop/db spec.ingress[0]
	// network_allowed contains "NetworkPolicy shop/db spec.ingress[0]" if {
	// 	selects_1 # NetworkPolicy shop/db spec.podSelector
	// 	# spec.ingress[0].from[0]
	// 	src_namespace == "shop"
	// 	src_labels["app"] == "api"
	// 	dst_port == 5432 # spec.ingress[0].ports[0]
	// }
	// selects_1 if {
	// 	# NetworkPolicy shop/db spec.podSelector
	// 	dst_namespace == "shop"
	// 	dst_labels["app"] == "db"
	// }
}

// section returns s from the line start up to (not including) end.
func section(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, end); j >= 0 {
		s = s[:j]
	}
	return s
}

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Source is one input file: its name (for messages and comments) and its YAML or
// JSON, possibly several documents or a List.
type Source struct {
	Name string
	Data []byte
}

// Options tune a translation.
type Options struct {
	// Unselected is what a destination that no policy of a layer selects gets:
	// "deny" (the default, Rampart's zero trust) or "allow" (what Kubernetes, Cilium,
	// Calico and Istio do). It is written to the bundle's data, so it can be changed
	// there later.
	Unselected string
	// IstioRootNamespace is the namespace whose AuthorizationPolicies apply mesh-wide
	// (default istio-system).
	IstioRootNamespace string
}

func (o *Options) setDefaults() error {
	if o.Unselected == "" {
		o.Unselected = "deny"
	}
	if o.Unselected != "deny" && o.Unselected != "allow" {
		return fmt.Errorf("translate: unselected must be deny or allow, not %q", o.Unselected)
	}
	if o.IstioRootNamespace == "" {
		o.IstioRootNamespace = "istio-system"
	}
	return nil
}

// Bundle is a translated bundle: one Rego module and its data.
type Bundle struct {
	Rego []byte // package rampart.authz
	Data []byte // data.rampart.translate
}

// Bundle file names, relative to the bundle root.
const (
	RegoFile = "translated.rego"
	DataFile = "rampart/translate/data.json"
)

// Files returns the bundle's files by path.
func (b *Bundle) Files() map[string][]byte {
	return map[string][]byte{RegoFile: b.Rego, DataFile: b.Data}
}

// WriteDir writes the bundle's files under dir.
func (b *Bundle) WriteDir(dir string) error {
	for name, data := range b.Files() {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("translate: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("translate: %w", err)
		}
	}
	return nil
}

// maxDocuments bounds how many objects one translation reads.
const maxDocuments = 10000

// Translate turns the policies of srcs into a bundle, or refuses with a
// *RefusalError naming every field it cannot express.
func Translate(srcs []Source, opts Options) (*Bundle, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	var refused []Refusal
	var docs []document
	for _, s := range srcs {
		ds, err := split(s)
		if err != nil {
			return nil, err
		}
		docs = append(docs, ds...)
		if len(docs) > maxDocuments {
			return nil, fmt.Errorf("translate: more than %d objects", maxDocuments)
		}
	}
	m := &model{namespaces: map[string]map[string]string{}}
	var policies []document
	for _, d := range docs {
		if !d.context(m, &refused) {
			policies = append(policies, d)
		}
	}
	t := &translator{m: m, opts: opts}
	for _, d := range policies {
		t.object(d, &refused)
	}
	if len(refused) > 0 {
		return nil, &RefusalError{Refusals: refused}
	}
	t.finish()
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	data, err := json.MarshalIndent(map[string]any{
		"unselected": opts.Unselected,
		"namespaces": m.namespaces,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("translate: data: %w", err)
	}
	module := m.module(names)
	if err := check(module); err != nil {
		return nil, err
	}
	return &Bundle{Rego: []byte(module), Data: append(data, '\n')}, nil
}

// document is one object of a source.
type document struct {
	source     string
	apiVersion string
	kind       string
	raw        []byte // JSON
	name       string // namespace/name or name
}

func (d document) String() string { return fmt.Sprintf("%s %s (%s)", d.kind, d.name, d.source) }

// split reads every object of a source, unwrapping Lists.
func split(s Source) ([]document, error) {
	r := utilyaml.NewYAMLReader(bufioReader(s.Data))
	var out []document
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("translate: %s: %w", s.Name, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		raw, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("translate: %s: %w", s.Name, err)
		}
		ds, err := objects(s.Name, raw, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
		if len(out) > maxDocuments {
			return out, nil
		}
	}
}

// objects returns the object in raw, or the items of a List.
func objects(source string, raw []byte, depth int) ([]document, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("translate: %s: not a Kubernetes object: %w", source, err)
	}
	if strings.HasSuffix(head.Kind, "List") && depth == 0 {
		var out []document
		for _, it := range head.Items {
			ds, err := objects(source, it, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, ds...)
		}
		return out, nil
	}
	name := head.Metadata.Name
	if head.Metadata.Namespace != "" {
		name = head.Metadata.Namespace + "/" + name
	}
	return []document{{source: source, apiVersion: head.APIVersion, kind: head.Kind, raw: raw, name: name}}, nil
}

// group is the API group of the document's apiVersion.
func (d document) group() string {
	g, _, ok := strings.Cut(d.apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}

// decode decodes the document strictly: an unknown field is refused by name.
func (d document) decode(v any, ref *refusals) bool {
	if err := yaml.UnmarshalStrict(d.raw, v); err != nil {
		ref.add("", fmt.Sprintf("cannot decode (an unknown field is refused, not dropped): %v", err))
		return false
	}
	return true
}

// translator holds the model being built.
type translator struct {
	m    *model
	opts Options
}

// object translates one policy object.
func (t *translator) object(d document, refused *[]Refusal) {
	ref := &refusals{object: d.String(), list: refused}
	switch {
	case d.kind == "NetworkPolicy" && d.group() == "networking.k8s.io":
		t.networkPolicy(d, ref)
	case d.kind == "CiliumNetworkPolicy" && d.group() == "cilium.io":
		t.cilium(d, ref)
	case (d.kind == "NetworkPolicy" || d.kind == "GlobalNetworkPolicy") &&
		(d.group() == "projectcalico.org" || d.group() == "crd.projectcalico.org"):
		t.calico(d, ref)
	case d.kind == "AuthorizationPolicy" && d.group() == "security.istio.io":
		t.istio(d, ref)
	default:
		ref.add("kind", fmt.Sprintf("%s %s: not supported (NetworkPolicy, CiliumNetworkPolicy, Calico NetworkPolicy and GlobalNetworkPolicy, AuthorizationPolicy; Namespaces and workloads as context)", d.apiVersion, d.kind))
	}
}

// finish puts the Calico rules in evaluation order.
func (t *translator) finish() {
	sort.SliceStable(t.m.calico.rules, func(i, j int) bool {
		return t.m.calico.rules[i].key.less(t.m.calico.rules[j].key)
	})
}

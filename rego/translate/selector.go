package translate

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// requirement is one term of a label selector, on the labels Rego expression of
// some side (src_labels, dst_labels, src_namespace_labels).
type requirement struct {
	key    string
	op     string // "=", "in", "notin", "exists", "!exists", "!=", "startswith", "endswith", "contains"
	values []string
}

// cond writes the requirement on the labels expression labels. A missing key
// satisfies "notin", "!exists" and "!=" (Kubernetes and Calico agree on this).
func (r requirement) cond(labels string) cond {
	v := fmt.Sprintf("%s[%s]", labels, quote(r.key))
	switch r.op {
	case "=":
		return leaf(fmt.Sprintf("%s == %s", v, quote(r.values[0])))
	case "!=":
		return not(leaf(fmt.Sprintf("%s == %s", v, quote(r.values[0]))))
	case "in":
		return leaf(fmt.Sprintf("%s in %s", v, quoteSet(r.values)))
	case "notin":
		return not(leaf(fmt.Sprintf("%s in %s", v, quoteSet(r.values))))
	case "exists":
		return leaf(fmt.Sprintf("%s in object.keys(%s)", quote(r.key), labels))
	case "!exists":
		return not(leaf(fmt.Sprintf("%s in object.keys(%s)", quote(r.key), labels)))
	case "startswith", "endswith", "contains":
		return leaf(fmt.Sprintf("%s(%s, %s)", r.op, v, quote(r.values[0])))
	}
	panic("translate: unknown requirement operator " + r.op)
}

// labelSelector converts a Kubernetes LabelSelector into requirements; field names
// the selector for refusals. A nil selector has no requirements (matches all).
func labelSelector(s *metav1.LabelSelector, field string, ref *refusals) []requirement {
	if s == nil {
		return nil
	}
	var out []requirement
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, requirement{key: k, op: "=", values: []string{s.MatchLabels[k]}})
	}
	for i, e := range s.MatchExpressions {
		f := fmt.Sprintf("%s.matchExpressions[%d]", field, i)
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				ref.add(f+".values", "In and NotIn need at least one value")
				continue
			}
			op := "in"
			if e.Operator == metav1.LabelSelectorOpNotIn {
				op = "notin"
			}
			out = append(out, requirement{key: e.Key, op: op, values: e.Values})
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) != 0 {
				ref.add(f+".values", "Exists and DoesNotExist take no values")
				continue
			}
			op := "exists"
			if e.Operator == metav1.LabelSelectorOpDoesNotExist {
				op = "!exists"
			}
			out = append(out, requirement{key: e.Key, op: op})
		default:
			ref.add(f+".operator", fmt.Sprintf("%q is not a label selector operator", e.Operator))
		}
	}
	return out
}

// labelsCond is the conjunction of requirements on one labels expression.
func labelsCond(labels string, reqs []requirement) cond {
	cs := make([]cond, len(reqs))
	for i, r := range reqs {
		cs[i] = r.cond(labels)
	}
	return and(cs...)
}

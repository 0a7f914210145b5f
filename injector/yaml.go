package injector

import (
	"bytes"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes objs as one multi-document YAML stream, without the empty status
// and creationTimestamp fields typed objects carry.
func WriteYAML(w io.Writer, objs []runtime.Object) error {
	var buf bytes.Buffer
	for i, obj := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return fmt.Errorf("object %d: %w", i, err)
		}
		if err := writeDoc(&buf, m); err != nil {
			return fmt.Errorf("object %d: %w", i, err)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeDoc(buf *bytes.Buffer, m map[string]any) error {
	clean(m)
	raw, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	buf.WriteString("---\n")
	buf.Write(raw)
	return nil
}

// clean drops the fields of an unset status and null creationTimestamps, at any depth
// (pod templates carry metadata too).
func clean(m map[string]any) {
	if st, ok := m["status"].(map[string]any); ok && len(st) == 0 {
		delete(m, "status")
	}
	if v, ok := m["creationTimestamp"]; ok && v == nil {
		delete(m, "creationTimestamp")
	}
	for _, v := range m {
		switch v := v.(type) {
		case map[string]any:
			clean(v)
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					clean(em)
				}
			}
		}
	}
}

package injector

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// templatePaths says where each workload kind keeps its pod template.
var templatePaths = map[string][]string{
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// InjectYAML reads a YAML or JSON stream of manifests from r and writes it to w as
// YAML with the proxy added to every Pod and workload pod template, as the webhook
// would (opt-outs, hostNetwork and already injected templates are left alone).
// Other objects pass through unchanged. It is the offline `rampart inject`.
func InjectYAML(r io.Reader, w io.Writer, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(r), 4096)
	var buf bytes.Buffer
	for i := 0; ; i++ {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("inject: document %d: %w", i, err)
		}
		if obj == nil { // an empty document between two "---"
			continue
		}
		if err := injectObject(obj, cfg); err != nil {
			return fmt.Errorf("inject: document %d (%v %v): %w", i, obj["kind"], nameOf(obj), err)
		}
		if err := writeDoc(&buf, obj); err != nil {
			return fmt.Errorf("inject: document %d: %w", i, err)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func nameOf(obj map[string]any) any {
	name, _, _ := unstructured.NestedString(obj, "metadata", "name")
	return name
}

// injectObject mutates obj in place when it is a Pod or a workload.
func injectObject(obj map[string]any, cfg Config) error {
	kind, _ := obj["kind"].(string)
	if kind == "Pod" {
		return injectPodMap(obj, cfg, func(p *corev1.Pod) any { return p })
	}
	path, ok := templatePaths[kind]
	if !ok {
		return nil
	}
	tmpl, found, err := unstructured.NestedMap(obj, path...)
	if err != nil || !found {
		return fmt.Errorf("no pod template at .%v", path)
	}
	err = injectPodMap(tmpl, cfg, func(p *corev1.Pod) any {
		return &corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
	})
	if err != nil {
		return err
	}
	return unstructured.SetNestedMap(obj, tmpl, path...)
}

// injectPodMap reads m as a pod (template), mutates it and writes back what out makes of it.
func injectPodMap(m map[string]any, cfg Config, out func(*corev1.Pod) any) error {
	var pod corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(m, &pod, true); err != nil {
		return err
	}
	res, err := Mutate(&pod, cfg)
	if err != nil || res.Skipped != "" {
		return err
	}
	mutated, err := runtime.DefaultUnstructuredConverter.ToUnstructured(out(res.Pod))
	if err != nil {
		return err
	}
	for k := range m {
		delete(m, k)
	}
	for k, v := range mutated {
		m[k] = v
	}
	return nil
}

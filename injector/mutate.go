package injector

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Skip reasons Mutate returns when it leaves a pod unchanged.
const (
	SkipOptedOut    = "opted out with " + InjectAnnotation + `: "false"`
	SkipHostNetwork = "hostNetwork pod"
	SkipInjected    = "already injected"
)

// Result is the outcome of Mutate.
type Result struct {
	// Pod is the mutated copy, or the unchanged input when Skipped is set.
	Pod *corev1.Pod
	// Skipped says why nothing was injected; empty when the proxy was added.
	Skipped string
}

// Status is the JSON recorded in the rampart.io/status annotation of an injected pod.
type Status struct {
	Image          string   `json:"image"`
	InitContainers []string `json:"initContainers"`
	Volumes        []string `json:"volumes"`
	AppProbes      []string `json:"appProbes,omitempty"`
}

// Mutate returns a copy of pod with the Rampart proxy added as a native sidecar, or
// the pod unchanged (Result.Skipped) when it opted out (annotation or label
// rampart.io/inject: "false"), uses the host network or is already injected. It never touches the input. An invalid rampart.io/… annotation
// is an error, so a webhook refuses the pod rather than run it half-configured.
func Mutate(pod *corev1.Pod, cfg Config) (Result, error) {
	if reason := skipReason(pod); reason != "" {
		return Result{Pod: pod, Skipped: reason}, nil
	}
	cfg = cfg.WithDefaults()
	s, err := podSettings(pod, cfg)
	if err != nil {
		return Result{}, err
	}
	out := pod.DeepCopy()
	var probes appProbes
	if s.rewriteProbes {
		probes = rewriteProbes(out)
	}
	proxy, err := proxyContainer(cfg, s, probes)
	if err != nil {
		return Result{}, err
	}
	injected := []corev1.Container{proxy}
	if !excludesCheck(s) {
		injected = append(injected, checkContainer(cfg, s, out.Spec.RestartPolicy))
	}
	out.Spec.InitContainers = append(injected, out.Spec.InitContainers...)
	if out.Spec.ServiceAccountName == "" {
		// What the ServiceAccount admission plugin sets; the proxy's projected
		// token (rampart-kube-api) is refused without it.
		out.Spec.ServiceAccountName = "default"
	}
	vols := proxyVolumes(cfg, s)
	out.Spec.Volumes = append(out.Spec.Volumes, vols...)
	if err := annotateStatus(out, s.image, injected, vols, probes); err != nil {
		return Result{}, err
	}
	if _, set := out.Annotations[DefaultContainerAnnotation]; !set && len(out.Spec.Containers) > 0 {
		// kubectl exec/logs then pick the app, not "Defaulted container ... out of"
		// the app and our init containers (Istio's injector does the same).
		out.Annotations[DefaultContainerAnnotation] = out.Spec.Containers[0].Name
	}
	return Result{Pod: out}, nil
}

// skipReason says why pod must not be injected, or "".
func skipReason(pod *corev1.Pod) string {
	if strings.EqualFold(pod.Annotations[InjectAnnotation], "false") ||
		strings.EqualFold(pod.Labels[InjectAnnotation], "false") {
		return SkipOptedOut
	}
	if pod.Spec.HostNetwork {
		return SkipHostNetwork
	}
	if _, ok := pod.Annotations[StatusAnnotation]; ok {
		return SkipInjected
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.Name == ProxyContainerName || c.Name == CheckContainerName {
				return SkipInjected
			}
		}
	}
	return ""
}

func annotateStatus(pod *corev1.Pod, image string, inits []corev1.Container, vols []corev1.Volume, probes appProbes) error {
	st := Status{Image: image, AppProbes: probes.paths()}
	for _, c := range inits {
		st.InitContainers = append(st.InitContainers, c.Name)
	}
	for _, v := range vols {
		st.Volumes = append(st.Volumes, v.Name)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("status annotation: %w", err)
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[StatusAnnotation] = string(raw)
	return nil
}

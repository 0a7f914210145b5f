package injector

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// settings are the per-pod values: Config overridden by the pod's annotations.
type settings struct {
	image, logLevel, mode, identity        string
	resources                              corev1.ResourceRequirements
	excludeIn, excludeOutPorts, excludeOut string
	rewriteProbes                          bool
	shadowBundle                           string // ConfigMap of the shadow bundle, if any
}

// podSettings applies the pod's rampart.io/… annotations over cfg and validates them.
func podSettings(pod *corev1.Pod, cfg Config) (settings, error) {
	a := pod.Annotations
	pick := func(key, def string) string {
		if v, ok := a[key]; ok {
			return strings.TrimSpace(v)
		}
		return def
	}
	s := settings{
		image:    pick(AnnotationImage, cfg.Image),
		logLevel: pick(AnnotationLogLevel, cfg.LogLevel),
		mode:     strings.ToUpper(pick(AnnotationMode, cfg.Mode)),
		identity: strings.ToLower(pick(AnnotationIdentity, cfg.Identity)),
	}
	if s.identity != IdentityCA && s.identity != IdentitySPIRE {
		return s, fmt.Errorf("%s %q: want %s or %s", AnnotationIdentity, s.identity, IdentityCA, IdentitySPIRE)
	}
	if s.image == "" {
		return s, fmt.Errorf("%s: empty image", AnnotationImage)
	}
	if err := checkLogLevel(s.logLevel); err != nil {
		return s, err
	}
	if s.mode != ModeStrict && s.mode != ModePermissive {
		return s, fmt.Errorf("%s %q: want %s or %s", AnnotationMode, s.mode, ModeStrict, ModePermissive)
	}
	var err error
	if s.resources, err = podResources(pick, cfg); err != nil {
		return s, err
	}
	if err = s.setExclusions(pick); err != nil {
		return s, err
	}
	s.shadowBundle = pick(AnnotationShadowBundle, "")
	if errs := validation.IsDNS1123Subdomain(s.shadowBundle); s.shadowBundle != "" && len(errs) > 0 {
		return s, fmt.Errorf("%s %q: not a ConfigMap name: %s", AnnotationShadowBundle, s.shadowBundle, strings.Join(errs, "; "))
	}
	s.rewriteProbes, err = strconv.ParseBool(pick(AnnotationRewriteProbes, strconv.FormatBool(*cfg.RewriteProbes)))
	if err != nil {
		return s, fmt.Errorf("%s: %w", AnnotationRewriteProbes, err)
	}
	return s, nil
}

func checkLogLevel(l string) error {
	switch l {
	case "debug", "info", "warn", "error":
		return nil
	}
	return fmt.Errorf("%s %q: want debug, info, warn or error", AnnotationLogLevel, l)
}

func (s *settings) setExclusions(pick func(string, string) string) error {
	var err error
	if s.excludeIn, err = portList(AnnotationExcludeInPorts, pick(AnnotationExcludeInPorts, "")); err != nil {
		return err
	}
	if s.excludeOutPorts, err = portList(AnnotationExcludeOutPort, pick(AnnotationExcludeOutPort, "")); err != nil {
		return err
	}
	s.excludeOut, err = cidrList(AnnotationExcludeOutCIDR, pick(AnnotationExcludeOutCIDR, ""))
	return err
}

func podResources(pick func(string, string) string, cfg Config) (corev1.ResourceRequirements, error) {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, q := range []struct {
		key, def string
		list     corev1.ResourceList
		name     corev1.ResourceName
	}{
		{AnnotationCPURequest, cfg.CPURequest, r.Requests, corev1.ResourceCPU},
		{AnnotationMemoryRequest, cfg.MemoryRequest, r.Requests, corev1.ResourceMemory},
		{AnnotationCPULimit, cfg.CPULimit, r.Limits, corev1.ResourceCPU},
		{AnnotationMemoryLimit, cfg.MemoryLimit, r.Limits, corev1.ResourceMemory},
	} {
		v := pick(q.key, q.def)
		if v == "" {
			continue
		}
		qty, err := resource.ParseQuantity(v)
		if err != nil {
			return r, fmt.Errorf("%s %q: %w", q.key, v, err)
		}
		q.list[q.name] = qty
	}
	if len(r.Limits) == 0 {
		r.Limits = nil
	}
	return r, nil
}

// portList validates a comma-separated list of TCP ports and returns it normalized.
func portList(key, v string) (string, error) {
	var out []string
	for _, f := range splitList(v) {
		p, err := strconv.ParseUint(f, 10, 16)
		if err != nil || p == 0 {
			return "", fmt.Errorf("%s: %q is not a port", key, f)
		}
		out = append(out, strconv.FormatUint(p, 10))
	}
	return strings.Join(out, ","), nil
}

// cidrList validates a comma-separated list of CIDRs and returns it normalized.
func cidrList(key, v string) (string, error) {
	var out []string
	for _, f := range splitList(v) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, p.Masked().String())
	}
	return strings.Join(out, ","), nil
}

func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

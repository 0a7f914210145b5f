package agent

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/redirect"
)

// Contract names restated from the injector (redirect may not import it).
const (
	proxyContainer  = "rampart-proxy"
	statusAnno      = "rampart.io/status"
	injectAnno      = "rampart.io/inject"
	modeAnno        = "rampart.io/mode"
	excludeInAnno   = "rampart.io/exclude-inbound-ports"
	excludeOutAnno  = "rampart.io/exclude-outbound-ports"
	excludeCIDRAnno = "rampart.io/exclude-outbound-cidrs"
)

// PodSpec is what capture needs to know about a pod.
type PodSpec struct {
	UID, Name        string
	IPs              []netip.Addr
	ProxyContainerID string // empty until the runtime reports it
	Mode             redirect.Mode
	ExcludeIn        []uint16
	ExcludeOut       []uint16
	ExcludeCIDRs     []netip.Prefix
}

// Injected reports whether the pod carries Rampart's proxy and should be captured:
// injected by the webhook, not opted out, not on the host network, not finished.
func Injected(p *corev1.Pod) bool {
	if p.Spec.HostNetwork || p.Annotations[injectAnno] == "false" {
		return false
	}
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	if _, ok := p.Annotations[statusAnno]; ok {
		return true
	}
	for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		if c.Name == proxyContainer {
			return true
		}
	}
	return false
}

// SpecOf reads a pod's capture settings; bad annotations are errors (fail closed:
// a pod is not attached with settings other than the ones it asked for).
func SpecOf(p *corev1.Pod) (PodSpec, error) {
	s := PodSpec{UID: string(p.UID), Name: p.Namespace + "/" + p.Name}
	for _, pip := range p.Status.PodIPs {
		a, err := netip.ParseAddr(pip.IP)
		if err != nil {
			return s, fmt.Errorf("pod ip %q: %w", pip.IP, err)
		}
		s.IPs = append(s.IPs, a)
	}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		if cs.Name == proxyContainer {
			s.ProxyContainerID = cs.ContainerID
		}
	}
	if strings.EqualFold(p.Annotations[modeAnno], "STRICT") {
		s.Mode = redirect.ModeStrict
	}
	var err error
	if s.ExcludeIn, err = ports(p.Annotations[excludeInAnno]); err != nil {
		return s, fmt.Errorf("%s: %w", excludeInAnno, err)
	}
	if s.ExcludeOut, err = ports(p.Annotations[excludeOutAnno]); err != nil {
		return s, fmt.Errorf("%s: %w", excludeOutAnno, err)
	}
	if s.ExcludeCIDRs, err = cidrs(p.Annotations[excludeCIDRAnno]); err != nil {
		return s, fmt.Errorf("%s: %w", excludeCIDRAnno, err)
	}
	return s, nil
}

func ports(list string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.FieldsFunc(list, isSep) {
		n, err := strconv.ParseUint(f, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("bad port %q", f)
		}
		out = append(out, uint16(n))
	}
	return out, nil
}

func cidrs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(list, isSep) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func isSep(r rune) bool { return r == ',' || r == ' ' }

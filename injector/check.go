package injector

import (
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// checkContainer is the capture check: a regular init container placed after the
// proxy (whose startup probe holds it until the proxy listens) and before the pod's
// own init containers and its app. It connects to a sentinel destination that the
// kernel refuses to route (CheckAddr:CheckPort); only the node agent's eBPF capture
// can turn that connect into one to the proxy, which answers it. So a pod created
// while rampart-node is down, or before it has attached the pod, waits in Init and
// is not Ready, rather than run its app with traffic that bypasses the proxy (what
// Istio's istio-validation init container does for its CNI plugin).
//
// The check gives up after a minute and the kubelet restarts it, except in a pod
// with restartPolicy Never, where a failed init container fails the pod for good:
// there it waits ten minutes.
func checkContainer(cfg Config, s settings, restart corev1.RestartPolicy) corev1.Container {
	args := []string{"check-capture"}
	if restart == corev1.RestartPolicyNever {
		args = append(args, "--wait", "10m")
	}
	return corev1.Container{
		Name:            CheckContainerName,
		Image:           s.image,
		ImagePullPolicy: corev1.PullPolicy(cfg.ImagePullPolicy),
		Args:            args,
		Resources: corev1.ResourceRequirements{
			// It runs for milliseconds; its RSS is the binary's (~24 MB).
			Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		SecurityContext:          checkSecurityContext(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// checkSecurityContext is the proxy's, but with a uid of its own: capture exempts
// uid 1337, so the check must not run as the proxy.
func checkSecurityContext() *corev1.SecurityContext {
	sc := proxySecurityContext()
	uid := int64(CheckUID)
	sc.RunAsUser, sc.RunAsGroup = &uid, &uid
	return sc
}

// excludesCheck reports whether the pod's own outbound exclusions cover the
// sentinel: its connect would never be captured and the pod would never start, so
// no check is injected (such a pod chose not to capture that traffic).
func excludesCheck(s settings) bool {
	if slices.Contains(splitList(s.excludeOutPorts), strconv.Itoa(CheckPort)) {
		return true
	}
	addr := netip.MustParseAddr(CheckAddr)
	for _, c := range splitList(s.excludeOut) {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

package kube

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// Options configure a Resolver.
type Options struct {
	// Client talks to the API server. Required.
	Client kubernetes.Interface
	// TrustDomain names SPIFFE IDs of meshed pods; "cluster.local" when empty.
	TrustDomain string
	// SidecarName is the container (or native-sidecar init container) name that
	// marks a pod as meshed; "rampart-proxy" when empty.
	SidecarName string
	// Namespace limits the watch to one namespace; all when empty.
	Namespace string
}

const (
	indexIP      = "ip"
	indexService = "service"
)

// Resolver is a discovery.Resolver fed by informers on Pods, Services and
// EndpointSlices. Objects are trimmed to the fields used here before they are
// cached (see trim), so a large cluster costs the proxy little memory.
type Resolver struct {
	opts     Options
	factory  informers.SharedInformerFactory
	pods     cache.SharedIndexInformer
	services cache.SharedIndexInformer
	slices   cache.SharedIndexInformer
}

// New builds the informers; Start runs them.
func New(opts Options) (*Resolver, error) {
	if opts.Client == nil {
		return nil, fmt.Errorf("kube discovery: needs a client")
	}
	if opts.TrustDomain == "" {
		opts.TrustDomain = "cluster.local"
	}
	if opts.SidecarName == "" {
		opts.SidecarName = "rampart-proxy"
	}
	k := &Resolver{opts: opts}
	k.factory = informers.NewSharedInformerFactoryWithOptions(opts.Client, 0,
		informers.WithNamespace(opts.Namespace), informers.WithTransform(k.trim))
	k.pods = k.factory.Core().V1().Pods().Informer()
	k.services = k.factory.Core().V1().Services().Informer()
	k.slices = k.factory.Discovery().V1().EndpointSlices().Informer()
	if err := k.addIndexers(); err != nil {
		return nil, fmt.Errorf("kube discovery: %w", err)
	}
	return k, nil
}

func (k *Resolver) addIndexers() error {
	if err := k.pods.AddIndexers(cache.Indexers{indexIP: podIPs}); err != nil {
		return err
	}
	if err := k.services.AddIndexers(cache.Indexers{indexIP: clusterIPs}); err != nil {
		return err
	}
	return k.slices.AddIndexers(cache.Indexers{indexService: sliceService})
}

// Start runs the informers until ctx ends and waits for their first full sync.
func (k *Resolver) Start(ctx context.Context) error {
	k.factory.Start(ctx.Done())
	for typ, ok := range k.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("kube discovery: %v informer did not sync", typ)
		}
	}
	return nil
}

// Workload implements Resolver.
func (k *Resolver) Workload(ip netip.Addr) (discovery.Workload, bool) {
	objs, err := k.pods.GetIndexer().ByIndex(indexIP, ip.Unmap().String())
	if err != nil || len(objs) == 0 {
		return discovery.Workload{}, false
	}
	return k.workload(objs[0].(*corev1.Pod), ip.Unmap()), true
}

func (k *Resolver) workload(p *corev1.Pod, ip netip.Addr) discovery.Workload {
	w := discovery.Workload{Name: p.Name, Namespace: p.Namespace, ServiceAccount: p.Spec.ServiceAccountName,
		IP: ip, Labels: p.Labels, Meshed: k.meshed(p)}
	if w.ServiceAccount == "" {
		w.ServiceAccount = "default"
	}
	if w.Meshed {
		w.Identity = discovery.SPIFFEID(k.opts.TrustDomain, w.Namespace, w.ServiceAccount)
	}
	return w
}

func (k *Resolver) meshed(p *corev1.Pod) bool {
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range list {
			if c.Name == k.opts.SidecarName {
				return true
			}
		}
	}
	return false
}

// Endpoints implements Resolver: dst is a Service cluster IP and port; the result
// is the ready addresses of its EndpointSlices with the matching target port.
func (k *Resolver) Endpoints(dst netip.AddrPort) ([]discovery.Endpoint, bool) {
	objs, err := k.services.GetIndexer().ByIndex(indexIP, dst.Addr().Unmap().String())
	if err != nil || len(objs) == 0 {
		return nil, false
	}
	svc := objs[0].(*corev1.Service)
	for _, sp := range svc.Spec.Ports {
		if sp.Port == int32(dst.Port()) && (sp.Protocol == "" || sp.Protocol == corev1.ProtocolTCP) {
			return k.sliceEndpoints(svc.Namespace+"/"+svc.Name, sp.Name), true
		}
	}
	return nil, false
}

func (k *Resolver) sliceEndpoints(service, portName string) []discovery.Endpoint {
	objs, _ := k.slices.GetIndexer().ByIndex(indexService, service)
	var eps []discovery.Endpoint
	for _, o := range objs {
		s := o.(*discoveryv1.EndpointSlice)
		port, ok := slicePort(s, portName)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			eps = k.appendAddresses(eps, e.Addresses, port)
		}
	}
	return eps
}

func (k *Resolver) appendAddresses(eps []discovery.Endpoint, addrs []string, port uint16) []discovery.Endpoint {
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		w, ok := k.Workload(ip)
		if !ok {
			w = discovery.Workload{IP: ip.Unmap()}
		}
		eps = append(eps, discovery.Endpoint{Workload: w, Addr: netip.AddrPortFrom(ip.Unmap(), port)})
	}
	return eps
}

func slicePort(s *discoveryv1.EndpointSlice, name string) (uint16, bool) {
	for _, p := range s.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		if pn == name && p.Port != nil && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
			return uint16(*p.Port), true
		}
	}
	return 0, false
}

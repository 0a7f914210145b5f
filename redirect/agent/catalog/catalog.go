package catalog

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Index names of the informers' caches.
const (
	byIP      = "ip"      // pods by pod IP
	byUID     = "uid"     // pods by UID (who is calling)
	byService = "service" // slices by namespace/service
)

// Catalog watches the cluster once and keeps the store that subscribers read.
type Catalog struct {
	opts                 Options
	pods, svcs, slices   cache.SharedIndexInformer
	queue                workqueue.TypedInterface[string]
	store                *store
	subscribers, dropped atomic.Int64
	handled              []cache.ResourceEventHandlerRegistration
	ready                atomic.Bool // the initial lists are in the store
}

// syncedKey is queued once every handler has seen its informer's initial list:
// the queue is FIFO, so when the worker reaches it the store holds them all.
const syncedKey = "synced"

// New builds the informers; Run runs them.
func New(opts Options) (*Catalog, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	c := &Catalog{opts: opts, queue: workqueue.NewTyped[string](), store: newStore(opts.LogSize)}
	core, disc := opts.Client.CoreV1().RESTClient(), opts.Client.DiscoveryV1().RESTClient()
	all := fields.Everything()
	c.pods = c.informer(cache.NewListWatchFromClient(core, "pods", "", all), &corev1.Pod{},
		transform(trimPod), cache.Indexers{byIP: indexPodIPs, byUID: indexPodUID})
	c.svcs = c.informer(cache.NewListWatchFromClient(core, "services", "", all), &corev1.Service{},
		transform(trimService), cache.Indexers{})
	c.slices = c.informer(cache.NewListWatchFromClient(disc, "endpointslices", "", all), &discoveryv1.EndpointSlice{},
		transform(trimSlice), cache.Indexers{byService: indexSliceService})
	for _, inf := range []cache.SharedIndexInformer{c.pods, c.svcs, c.slices} {
		reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { c.enqueue(o) },
			UpdateFunc: func(old, o any) { c.enqueue(old); c.enqueue(o) },
			DeleteFunc: func(o any) { c.enqueue(o) },
		})
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		c.handled = append(c.handled, reg)
	}
	return c, nil
}

func (c *Catalog) informer(lw cache.ListerWatcher, obj runtime.Object, trim cache.TransformFunc, idx cache.Indexers) cache.SharedIndexInformer {
	inf := cache.NewSharedIndexInformerWithOptions(lw, obj, cache.SharedIndexInformerOptions{Indexers: idx})
	_ = inf.SetTransform(trim) // fails only once started
	return inf
}

// Run runs the informers and the worker until ctx ends.
func (c *Catalog) Run(ctx context.Context) {
	for _, inf := range []cache.SharedIndexInformer{c.pods, c.svcs, c.slices} {
		go inf.RunWithContext(ctx)
	}
	go func() {
		synced := make([]cache.InformerSynced, len(c.handled))
		for i, h := range c.handled {
			synced[i] = h.HasSynced
		}
		if cache.WaitForCacheSync(ctx.Done(), synced...) {
			c.queue.Add(syncedKey)
		}
	}()
	go func() { <-ctx.Done(); c.queue.ShutDown() }()
	for c.work() {
	}
}

// Synced reports whether the store holds every informer's initial list;
// subscribers are refused before, so that no proxy takes a partial catalog for
// the truth.
func (c *Catalog) Synced() bool { return c.ready.Load() }

// enqueue queues the keys an object's change may affect: a pod its IPs, a
// service or slice its service.
func (c *Catalog) enqueue(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		for _, ip := range podIPs(o) {
			c.queue.Add("ip:" + ip.String())
		}
	case *corev1.Service:
		c.queue.Add("svc:" + o.Namespace + "/" + o.Name)
	case *discoveryv1.EndpointSlice:
		if name := o.Labels[discoveryv1.LabelServiceName]; name != "" {
			c.queue.Add("svc:" + o.Namespace + "/" + name)
		}
	}
}

func (c *Catalog) work() bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if key == syncedKey {
		c.ready.Store(true)
	} else if ip, ok := strings.CutPrefix(key, "ip:"); ok {
		c.syncIP(netip.MustParseAddr(ip))
	} else {
		c.syncService(strings.TrimPrefix(key, "svc:"))
	}
	return true
}

// syncIP recomputes the workload at ip from the cache (reads of an informer's
// cache cannot fail, so a sync needs no retry).
func (c *Catalog) syncIP(ip netip.Addr) {
	objs, _ := c.pods.GetIndexer().ByIndex(byIP, ip.String())
	var pods []*corev1.Pod
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	var w *Workload
	if p := newestPod(pods); p != nil {
		w = c.workloadOf(p, ip)
	}
	c.store.putWorkload(ip, w)
}

func (c *Catalog) syncService(key string) {
	var svc *Service
	if obj, ok, _ := c.svcs.GetIndexer().GetByKey(key); ok {
		objs, _ := c.slices.GetIndexer().ByIndex(byService, key)
		var sls []*discoveryv1.EndpointSlice
		for _, o := range objs {
			if sl, ok := o.(*discoveryv1.EndpointSlice); ok {
				sls = append(sls, sl)
			}
		}
		svc = serviceOf(obj.(*corev1.Service), sls)
	}
	c.store.putService(key, svc)
}

// podByUID is the cached pod with this UID, if any.
func (c *Catalog) podByUID(uid string) *corev1.Pod {
	objs, _ := c.pods.GetIndexer().ByIndex(byUID, uid)
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			return p
		}
	}
	return nil
}

func indexPodIPs(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ip := range podIPs(p) {
		out = append(out, ip.String())
	}
	return out, nil
}

func indexPodUID(obj any) ([]string, error) {
	if p, ok := obj.(*corev1.Pod); ok {
		return []string{string(p.UID)}, nil
	}
	return nil, nil
}

func indexSliceService(obj any) ([]string, error) {
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelServiceName] != "" {
		return []string{s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]}, nil
	}
	return nil, nil
}

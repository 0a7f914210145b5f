package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// kind is one watched collection: a client-go informer whose cache holds the
// trimmed objects, indexed by the address (or service) lookups use.
type kind struct {
	name     string // "pods", for logs and errors
	informer cache.SharedIndexInformer

	mu      sync.Mutex
	lastErr error // why the last list or watch failed
}

// Index names of the informers' caches.
const (
	byIP      = "ip"      // pods by pod IP
	byVIP     = "vip"     // services by cluster IP
	byService = "service" // slices by namespace/service
)

// newKind builds the informer of one resource. The dynamic client decodes into
// unstructured objects, so no k8s.io/api type (nor its scheme) is linked in; the
// transform trims each object before it is cached. Paging, bookmarks and the
// relist after a 410 Gone are client-go's (the reflector's).
func (k *Resolver) newKind(dyn dynamic.Interface, gvr schema.GroupVersionResource, trim cache.TransformFunc, index string, indexFunc cache.IndexFunc) (*kind, error) {
	kd := &kind{name: gvr.Resource}
	res := dyn.Resource(gvr).Namespace(k.opts.Namespace) // "" = all namespaces
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if k.opts.WatchTimeout > 0 {
				secs := int64(max(1, k.opts.WatchTimeout.Seconds()))
				o.TimeoutSeconds = &secs
			}
			k.opts.Logger.Debug("kube discovery: watch", "kind", kd.name, "resourceVersion", o.ResourceVersion)
			return res.Watch(ctx, o)
		},
	}
	kd.informer = cache.NewSharedIndexInformerWithOptions(lw, &unstructured.Unstructured{},
		cache.SharedIndexInformerOptions{Indexers: cache.Indexers{index: indexFunc}, ObjectDescription: gvr.Resource})
	// The transform sees every object the informer takes in, listed or watched,
	// before it is cached: the moment LastUpdate reports.
	stamped := func(obj any) (any, error) {
		k.updated.Store(time.Now().UnixNano())
		return trim(obj)
	}
	if err := kd.informer.SetTransform(stamped); err != nil {
		return nil, fmt.Errorf("%s informer: %w", kd.name, err)
	}
	if err := kd.informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		k.failed(kd, err)
	}); err != nil {
		return nil, fmt.Errorf("%s informer: %w", kd.name, err)
	}
	return kd, nil
}

// failed records why a list or watch failed (client-go retries with backoff, the
// last good cache stays served). Refusals that retrying cannot fix (401, 403,
// 404: credentials, RBAC, an API the server does not serve) end Synced at once.
func (k *Resolver) failed(kd *kind, err error) {
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, io.EOF) {
		// Routine: the reflector relists or re-watches from here.
		k.opts.Logger.Debug("kube discovery: watch ended", "kind", kd.name, "err", err)
		return
	}
	kd.mu.Lock()
	kd.lastErr = err
	kd.mu.Unlock()
	k.opts.Logger.Warn("kube discovery: retrying", "kind", kd.name, "err", err)
	if apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		k.fatalOnce.Do(func() { k.fatalErr = err; close(k.fatal) })
	}
}

func (kd *kind) err() error {
	kd.mu.Lock()
	defer kd.mu.Unlock()
	return kd.lastErr
}

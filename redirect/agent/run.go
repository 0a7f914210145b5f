package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Resync is how often every pod is synced again, which also retries pods whose
// proxy listener or cgroup was not there yet.
const Resync = 10 * time.Second

// Watch runs the Reconciler against the pods of one node until ctx is done, then
// releases them (they stay captured for the next agent).
func Watch(ctx context.Context, client kubernetes.Interface, node string, r *Reconciler) error {
	if node == "" {
		return errors.New("watch: no node name")
	}
	f := informers.NewSharedInformerFactoryWithOptions(client, Resync,
		informers.WithTweakListOptions(func(o *v1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
		}))
	inf := f.Core().V1().Pods()
	sync := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok {
			if err := r.Sync(p); err != nil {
				r.log.Warn("sync pod", "pod", p.Namespace+"/"+p.Name, "err", err)
			}
		}
	}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    sync,
		UpdateFunc: func(_, obj any) { sync(obj) },
		DeleteFunc: func(obj any) { r.remove(obj) },
	})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return errors.Join(ctx.Err(), r.Close())
	}
	if err := r.prune(inf.Lister().List(labels.Everything())); err != nil {
		r.log.Warn("prune", "err", err)
	}
	<-ctx.Done()
	return r.Close()
}

func (r *Reconciler) remove(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if p, ok := obj.(*corev1.Pod); ok {
		if err := r.Remove(string(p.UID)); err != nil {
			r.log.Warn("detach pod", "pod", p.Namespace+"/"+p.Name, "err", err)
		}
	}
}

// prune detaches adopted pods that no longer exist on this node.
func (r *Reconciler) prune(pods []*corev1.Pod, err error) error {
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, p := range pods {
		if Injected(p) {
			live[string(p.UID)] = true
		}
	}
	return r.Prune(live)
}

package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// uidIndex indexes the pod cache by UID: the workqueue key is the pod's UID, so a
// pod deleted and created again under the same name is two keys, and a UID adopted
// from a pin can be reconciled without knowing the pod's name.
const uidIndex = "metadata.uid"

// Watch runs the Reconciler against the pods of one node until ctx is done, then
// releases them (they stay captured for the next agent). Pod events only queue the
// pod's UID; workers sync one UID at a time with per-pod exponential backoff, so a
// pod that fails or is not complete yet never holds up the others. The pods adopted
// at start are queued too: one that is gone from the API is detached and unpinned,
// even if its delete event came while no agent was running.
func Watch(ctx context.Context, cfg *rest.Config, node string, r *Reconciler) error {
	if node == "" {
		return errors.New("watch: no node name")
	}
	mgr, err := newManager(cfg, node, r)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if err := addPodController(ctx, mgr, r); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	err = mgr.Start(ctx)
	r.ready.Store(false)
	if err != nil {
		err = fmt.Errorf("watch: %w", err)
	}
	return errors.Join(err, r.Close())
}

// newManager caches only the pods bound to this node, without managed fields.
func newManager(cfg *rest.Config, node string, r *Reconciler) (manager.Manager, error) {
	return manager.New(cfg, manager.Options{
		Logger:  logr.FromSlogHandler(r.log.Handler()),
		Metrics: metricsserver.Options{BindAddress: "0"}, // rampart-node serves its own
		Cache: cache.Options{
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Pod{}: {Field: fields.OneTermEqualSelector("spec.nodeName", node)},
			},
			DefaultTransform: cache.TransformStripManagedFields(),
		},
	})
}

func addPodController(ctx context.Context, mgr manager.Manager, r *Reconciler) error {
	err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.Pod{}, uidIndex, func(o client.Object) []string {
		return []string{string(o.GetUID())}
	})
	if err != nil {
		return fmt.Errorf("index pods by uid: %w", err)
	}
	pc := &podController{r: r, cache: mgr.GetCache(),
		backoff: workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](r.opts.RetryBase, r.opts.RetryMax)}
	skip := true // tests run several agents in one process
	c, err := controller.NewTyped("rampart-node-pods", mgr, controller.TypedOptions[types.UID]{
		Reconciler: pc, MaxConcurrentReconciles: r.opts.Workers, SkipNameValidation: &skip,
	})
	if err != nil {
		return err
	}
	byUID := handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, p *corev1.Pod) []types.UID {
		return []types.UID{p.UID}
	})
	if err := c.Watch(source.TypedKind(mgr.GetCache(), &corev1.Pod{}, byUID)); err != nil {
		return err
	}
	return c.Watch(source.TypedFunc[types.UID](pc.queueAdopted))
}

// podController reconciles one pod UID: the cached pod with that UID is synced, a
// UID with no pod is detached once its processes are gone.
type podController struct {
	r       *Reconciler
	cache   cache.Cache
	backoff workqueue.TypedRateLimiter[types.UID]
}

func (c *podController) Reconcile(ctx context.Context, uid types.UID) (reconcile.Result, error) {
	var pods corev1.PodList
	if err := c.cache.List(ctx, &pods, client.MatchingFields{uidIndex: string(uid)}); err != nil {
		return reconcile.Result{}, err
	}
	var err error
	if len(pods.Items) == 0 {
		err = c.r.RemoveGone(string(uid))
	} else {
		err = c.r.Sync(&pods.Items[0])
	}
	if err == nil {
		c.backoff.Forget(uid)
		return reconcile.Result{}, nil
	}
	retry := c.backoff.When(uid)
	if errors.Is(err, ErrPending) || errors.Is(err, ErrNotFound) {
		c.r.metrics.retries.WithLabelValues("pending").Inc()
		c.r.log.Info("pod not complete yet", "uid", uid, "retry", retry, "why", err)
	} else {
		c.r.metrics.retries.WithLabelValues("error").Inc()
		c.r.log.Warn("sync pod", "uid", uid, "retry", retry, "err", err)
	}
	return reconcile.Result{RequeueAfter: retry}, nil
}

// queueAdopted queues the pods adopted at start once the cache holds every pod of
// the node, then marks the agent ready. It must not block the controller's start.
func (c *podController) queueAdopted(ctx context.Context, q workqueue.TypedRateLimitingInterface[types.UID]) error {
	go func() {
		// A cache List waits for the pod informer to sync (and starts it if the kind
		// source has not yet); WaitForCacheSync would not wait for an informer that
		// does not exist yet.
		var pods corev1.PodList
		if err := c.cache.List(ctx, &pods); err != nil {
			c.r.log.Warn("pod cache", "err", err)
			return
		}
		for _, uid := range c.r.adopted {
			q.Add(types.UID(uid))
		}
		c.r.ready.Store(true)
	}()
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"
)

// followBatch is how long followed decisions are gathered before being printed
// in time order: decisions of different proxies arrive out of order by about
// the pod proxy's latency.
const followBatch = 250 * time.Millisecond

// retryStream is the pause before reading a pod's decisions again after its
// stream ended (the proxy restarted, the apiserver closed the connection).
const retryStream = time.Second

// follower streams the decisions of every observable pod of a namespace,
// starting a stream when a pod becomes observable and stopping it when the pod
// goes away.
type follower struct {
	ctx    context.Context
	fail   context.CancelCauseFunc
	cs     kubernetes.Interface
	f      *observeFilter
	stderr io.Writer
	rows   chan observed

	mu      sync.Mutex
	streams map[string]context.CancelFunc // by ns/name
}

func followCluster(ctx context.Context, cs kubernetes.Interface, ns string, w, stderr io.Writer, f *observeFilter, out outputFormat) error {
	// The informer only logs and retries a list it may not do: ask once first.
	if _, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return classify(ns, err)
	}
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	fw := &follower{ctx: ctx, fail: fail, cs: cs, f: f, stderr: stderr, rows: make(chan observed, 256),
		streams: map[string]context.CancelFunc{}}
	inf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns)).Core().V1().Pods().Informer()
	if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		if err = classify(ns, err); errors.As(err, new(*forbiddenError)) {
			fail(err)
		}
	}); err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    fw.update,
		UpdateFunc: func(_, obj any) { fw.update(obj) },
		DeleteFunc: fw.remove,
	}); err != nil {
		return err
	}
	go inf.RunWithContext(ctx)
	err := fw.print(w, out)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func (fw *follower) update(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if !observable(p) {
		fw.stop(podKey(p))
		return
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, ok := fw.streams[podKey(p)]; ok {
		return
	}
	ctx, cancel := context.WithCancel(fw.ctx)
	fw.streams[podKey(p)] = cancel
	fmt.Fprintf(fw.stderr, "following %s\n", podKey(p))
	go fw.stream(ctx, p.DeepCopy())
}

func (fw *follower) remove(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if p, ok := obj.(*corev1.Pod); ok {
		fw.stop(podKey(p))
	}
}

func (fw *follower) stop(key string) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if cancel, ok := fw.streams[key]; ok {
		cancel()
		delete(fw.streams, key)
		fmt.Fprintf(fw.stderr, "stopped following %s: gone\n", key)
	}
}

// stream reads one pod's decisions until ctx ends, reconnecting when the stream
// ends; after a reconnect, decisions already passed on (the ring's replay) are
// skipped by time.
func (fw *follower) stream(ctx context.Context, p *corev1.Pod) {
	var last time.Time
	said := "" // the last error shown: a proxy not up yet is said once, not every second
	for {
		_, err := readPod(ctx, fw.cs, p, fw.f, true, func(o observed) {
			if !o.Time.After(last) && !last.IsZero() {
				return
			}
			last = o.Time
			select {
			case fw.rows <- o:
			case <-ctx.Done():
			}
		})
		if ctx.Err() != nil {
			return
		}
		switch err = classify(p.Namespace, err); {
		case errors.Is(err, errNoRing):
			fmt.Fprintf(fw.stderr, "%s: %v\n", podKey(p), err)
			return
		case errors.As(err, new(*forbiddenError)):
			fw.fail(err)
			return
		case err != nil && err.Error() != said:
			said = err.Error()
			fmt.Fprintf(fw.stderr, "%s: %v (retrying)\n", podKey(p), err)
		}
		select {
		case <-time.After(retryStream):
		case <-ctx.Done():
			return
		}
	}
}

// print writes followed rows in batches, each sorted by time, until ctx ends.
func (fw *follower) print(w io.Writer, out outputFormat) error {
	tick := time.NewTicker(followBatch)
	defer tick.Stop()
	var batch []observed
	header := true
	for {
		select {
		case o := <-fw.rows:
			batch = append(batch, o)
			continue
		case <-tick.C:
		case <-fw.ctx.Done():
			return nil
		}
		if len(batch) == 0 {
			continue
		}
		slices.SortStableFunc(batch, func(a, b observed) int { return a.Time.Compare(b.Time) })
		if err := printStream(w, batch, out, true, header); err != nil {
			return err
		}
		header, batch = false, batch[:0]
	}
}

// printStream writes rows as table lines, JSON lines or YAML documents.
func printStream(w io.Writer, rows []observed, out outputFormat, withPod, header bool) error {
	for _, o := range rows {
		switch out {
		case "json":
			b, err := json.Marshal(o)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		case "yaml":
			b, err := yaml.Marshal(o)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "---\n%s", b); err != nil {
				return err
			}
		}
	}
	if out == "json" || out == "yaml" {
		return nil
	}
	return printRows(w, rows, out, withPod, header)
}

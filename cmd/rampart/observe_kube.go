package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/sidecar/admin"
	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// clusterOptions select the proxies `rampart observe` reads in a cluster: every
// injected pod of a namespace (or of all), reached through the apiserver's pod
// proxy (pods/proxy) on the admin port, with the user's kubeconfig.
type clusterOptions struct {
	kubeconfig, context string
	namespace           string // "" with all: every namespace
	all                 bool
	follow              bool
	stderr              io.Writer // notes about single proxies (no ring, unreachable)
}

// forbiddenError names the permission observe needs when the apiserver says 403.
type forbiddenError struct {
	ns  string // "": every namespace
	err error
}

func (e *forbiddenError) Error() string {
	where := "in namespace " + e.ns
	if e.ns == "" {
		where = "in every namespace (-A)"
	}
	return fmt.Sprintf("forbidden: rampart observe needs get on pods/proxy and list, watch on pods %s "+
		"(check: kubectl auth can-i get pods --subresource=proxy%s): %v", where, nsFlag(e.ns), e.err)
}

func (e *forbiddenError) Unwrap() error { return e.err }

func nsFlag(ns string) string {
	if ns == "" {
		return " -A"
	}
	return " -n " + ns
}

// kubeClient loads the kubeconfig as kubectl does (--kubeconfig, else
// $KUBECONFIG, else ~/.kube/config; --context) and returns a client and the
// namespace to use when -n is not given.
func kubeClient(o *clusterOptions) (*kubernetes.Clientset, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: o.context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig (observe reads a cluster unless given --admin or --log): %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	return cs, ns, nil
}

// observable reports whether a pod runs an injected proxy that can be asked now.
func observable(p *corev1.Pod) bool {
	_, injected := p.Annotations[injector.StatusAnnotation]
	return injected && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != ""
}

// podSource reads one pod's /debug/decisions through the apiserver's pod proxy.
func podSource(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, follow bool) decisionlog.Source {
	params := map[string]string{}
	if follow {
		params["follow"] = "1"
	}
	name := p.Namespace + "/" + p.Name
	return decisionlog.Source{Name: name, Open: func() (io.ReadCloser, error) {
		rc, err := cs.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, strconv.Itoa(contract.AdminPort),
			"debug/decisions", params).Stream(ctx)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(rc, maxAdminBytes), rc}, nil
	}}
}

// errNoRing marks a proxy that keeps no decision ring.
var errNoRing = errors.New(admin.NoRingMessage)

// classify turns a pod-proxy error into errNoRing, a forbidden error naming the
// permission, or itself.
func classify(ns string, err error) error {
	switch {
	case err == nil:
		return nil
	case noRing(err):
		return errNoRing
	case apierrors.IsForbidden(err):
		return &forbiddenError{ns, err}
	}
	return err
}

// noRing reports whether the proxy answered with admin.NoRingMessage: client-go
// keeps a proxied body that is not a Status among the error's causes.
func noRing(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil {
		return strings.Contains(err.Error(), "no decision ring")
	}
	for _, c := range st.Status().Details.Causes {
		if strings.Contains(c.Message, "no decision ring") {
			return true
		}
	}
	return false
}

// observeCluster prints the decisions of every observable pod, merged in time
// order; with follow it then streams new ones until ctx ends.
func observeCluster(ctx context.Context, w io.Writer, o *clusterOptions, f *observeFilter, out outputFormat) error {
	cs, ns, err := kubeClient(o)
	if err != nil {
		return err
	}
	if o.namespace != "" {
		ns = o.namespace
	}
	if o.all {
		ns = ""
	}
	if o.follow {
		return followCluster(ctx, cs, ns, w, o.stderr, f, out)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return classify(ns, err)
	}
	var (
		mu   sync.Mutex
		rows []observed
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 8)
	)
	for i := range pods.Items {
		p := &pods.Items[i]
		if !observable(p) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := readPod(ctx, cs, p, f, false, nil)
			mu.Lock()
			defer mu.Unlock()
			rows = append(rows, got...)
			if err = classify(p.Namespace, err); err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", p.Namespace, p.Name, err))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if fe := (*forbiddenError)(nil); errors.As(err, &fe) {
			return fe
		}
		fmt.Fprintln(o.stderr, err)
	}
	slices.SortStableFunc(rows, func(a, b observed) int { return a.Time.Compare(b.Time) })
	return printRows(w, rows, out, true, true)
}

// readPod reads one pod's decisions that pass f; with each set, it hands each row
// to each as it arrives instead of returning it.
func readPod(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, f *observeFilter, follow bool, each func(observed)) ([]observed, error) {
	var rows []observed
	_, err := decisionlog.Each([]decisionlog.Source{podSource(ctx, cs, p, follow)}, func(r decisionlog.Record, _ decisionlog.Event) error {
		if !f.match(&r) {
			return nil
		}
		row := rowOf(&r)
		row.Pod = p.Namespace + "/" + p.Name
		if each != nil {
			each(row)
		} else {
			rows = append(rows, row)
		}
		return nil
	})
	return rows, err
}

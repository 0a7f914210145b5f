package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running single-node cluster. Stop removes it.
type Cluster struct {
	Name       string               // rcl<pid>-<n>: run folder, netns, cgroup
	Dir        string               // run folder
	Kubeconfig string               // admin (system:masters) kubeconfig
	Config     *rest.Config         // the same, for client-go
	Client     kubernetes.Interface // built from Config
	Registry   string               // 127.0.0.1:<port>, the same on the host and the node
	Tag        string               // tag of the pushed images
	Images     string               // OCI layout the images were pushed from
	NodeName   string               // the node's name
	NodeIP     string               // the node's address (apiserver on :6443, CoreDNS on :53)

	o     Options
	st    state
	t     tools
	p     *procs
	fwd   *forwarder
	once  sync.Once
	stopE error
}

// Start brings a cluster up and returns once its node is Ready (and Rampart is
// installed, when asked). On error everything created so far is removed.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	t, err := findTools(o.ToolsDir)
	if err != nil {
		return nil, err
	}
	if err := Sweep(o.BaseDir); err != nil {
		fmt.Fprintf(o.Log, "cluster: sweeping earlier runs: %v\n", err)
	}
	unlock, err := lockBase(o.BaseDir)
	if err != nil {
		return nil, err
	}
	st, dir, err := newState(o.BaseDir)
	if err == nil {
		err = prepareHost(st)
	}
	unlock()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: st.Name, Dir: dir, NodeName: nodeName, NodeIP: st.addrs().Node.String(), o: o, st: st, t: t}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := c.up(ctx); err != nil {
		if logs, lerr := keepLogs(c.Dir, c.Name); lerr == nil {
			err = fmt.Errorf("%w (daemon logs kept in %s)", err, logs)
		}
		if serr := c.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, err
	}
	return c, nil
}

func (c *Cluster) logf(format string, args ...any) {
	fmt.Fprintf(c.o.Log, "cluster: "+format+"\n", args...)
}

func (c *Cluster) up(ctx context.Context) error {
	start := time.Now()
	l := layout{dir: c.Dir}
	sys, err := makeCgroups(c.Name)
	if err != nil {
		return err
	}
	if err := makeNetwork(c.st); err != nil {
		return err
	}
	if _, err := writePKI(l.path("pki"), c.st.addrs()); err != nil {
		return err
	}
	c.p = &procs{logs: l.path("logs"), cgroup: sys, netns: c.st.netnsPath()}
	if c.Registry, err = startRegistry(ctx, c.p, c.t.registry, l.path("registry")); err != nil {
		return err
	}
	c.st.Registry = c.Registry
	if err := writeState(c.Dir, c.st); err != nil {
		return err
	}
	if c.fwd, err = forward(c.st.netnsPath(), c.Registry); err != nil {
		return err
	}
	images := c.pushImages(ctx)
	n := &node{l: l, s: c.st, t: c.t, p: c.p}
	if err := c.controlPlane(ctx, n); err != nil {
		return err
	}
	c.logf("control plane ready after %.1fs", time.Since(start).Seconds())
	if err := <-images; err != nil {
		return err
	}
	n.pause, n.registry = c.Registry+"/rampart-pause:"+c.Tag, c.Registry
	if err := n.startContainerd(); err != nil {
		return err
	}
	if err := waitFor(ctx, c.p, "containerd", dialable(l.containerdSock())); err != nil {
		return err
	}
	for _, f := range []func() error{n.startKubelet, n.startKubeProxy, n.startCoreDNS} {
		if err := f(); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, c.p, "node Ready", c.nodeReady(ctx)); err != nil {
		return err
	}
	// Pods are refused until the service account controller made "default".
	err = waitFor(ctx, c.p, "default service account", func() error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if err != nil {
		return err
	}
	c.logf("node %s Ready after %.1fs", nodeName, time.Since(start).Seconds())
	if c.o.InstallRampart {
		if err := c.installRampart(ctx); err != nil {
			return err
		}
		c.logf("rampart installed after %.1fs", time.Since(start).Seconds())
	}
	return nil
}

// pushImages builds the images when no layout was given, then pushes them;
// the result arrives on the channel.
func (c *Cluster) pushImages(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() {
		dir := c.o.Images
		if dir == "" {
			dir = filepath.Join(c.Dir, "images")
			if err := buildImages(ctx, c.o.Repo, dir); err != nil {
				done <- err
				return
			}
		}
		c.Images = dir
		tag, err := layoutTag(dir)
		if err == nil {
			c.Tag = tag
			err = pushImages(ctx, c.o.Repo, dir, c.Registry)
		}
		done <- err
	}()
	return done
}

func (c *Cluster) controlPlane(ctx context.Context, n *node) error {
	if err := n.startEtcd(); err != nil {
		return err
	}
	if err := n.startAPIServer(); err != nil {
		return err
	}
	c.Kubeconfig = n.l.pki("admin.kubeconfig")
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.Config = cfg
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	err = waitFor(ctx, c.p, "kube-apiserver /readyz", func() error {
		return c.Client.CoreV1().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	})
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, corednsRBAC); err != nil {
		return err
	}
	if err := n.startControllerManager(); err != nil {
		return err
	}
	return n.startScheduler()
}

func (c *Cluster) nodeReady(ctx context.Context) func() error {
	return func() error {
		nd, err := c.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range nd.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s not Ready", nodeName)
	}
}

// Kubectl runs kubectl against the cluster and returns its stdout.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return c.KubectlIn(ctx, nil, args...)
}

// KubectlIn runs kubectl with stdin.
func (c *Cluster) KubectlIn(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.t.kubectl, append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	cmd.Stdin = stdin
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Apply runs kubectl apply -f - with the manifests.
func (c *Cluster) Apply(ctx context.Context, manifests string) error {
	_, err := c.KubectlIn(ctx, strings.NewReader(manifests), "apply", "-f", "-")
	return err
}

// KubectlPath is the kubectl binary the cluster uses.
func (c *Cluster) KubectlPath() string { return c.t.kubectl }

// Log returns the log of one daemon (kubelet, containerd, kube-apiserver, ...).
func (c *Cluster) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "logs", name+".log"))
	return string(b)
}

// Stop removes the cluster: processes, mounts, cgroups, network, run folder.
// Safe to call more than once.
func (c *Cluster) Stop() error {
	c.once.Do(func() {
		c.fwd.close()
		unlock, err := lockBase(c.o.BaseDir)
		if err != nil {
			c.stopE = err
			return
		}
		defer unlock()
		c.stopE = teardown(c.o.BaseDir, c.st)
		if c.p != nil {
			c.p.reaped(10 * time.Second)
		}
	})
	return c.stopE
}

// Sweep removes the clusters under base whose owner process is gone (killed,
// crashed); clusters of live processes are left alone.
func Sweep(base string) error {
	unlock, err := lockBase(base)
	if err != nil {
		return err
	}
	defer unlock()
	var errs []error
	for _, s := range readStates(base) {
		if !s.ownerAlive() {
			errs = append(errs, teardown(base, s))
		}
	}
	return errors.Join(append(errs, sweepCNICache(base))...)
}

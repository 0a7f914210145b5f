package injector

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Names of the objects InstallManifests renders.
const (
	InstallNamespace = "rampart-system"
	InjectorName     = "rampart-injector"
	NodeName         = "rampart-node"
	WebhookName      = "inject.rampart.io"
	injectorTLS      = "rampart-injector-tls"
	webhookPort      = 9443
)

// InstallOptions configure the manifests that install Rampart on a cluster.
type InstallOptions struct {
	// Namespace holds the injector and the node agent. Default rampart-system.
	Namespace string
	// Registry and Tag name every image not set explicitly: Registry/<name>:Tag for
	// the injector, the node agent, and the proxy (Config.Image). Defaults
	// DefaultRegistry and DefaultTag.
	Registry, Tag string
	// InjectorImage and NodeImage are the control-plane images; they win over
	// Registry and Tag.
	InjectorImage, NodeImage string
	// Replicas of the injector. Default 2 (with a PodDisruptionBudget of 1).
	Replicas int32
	// TimeoutSeconds is the webhook call timeout. Default 10.
	TimeoutSeconds int32
	// Config is what the injector adds to pods; it becomes the injector's flags.
	Config Config
	// CertManager, when set, has cert-manager issue and rotate the serving
	// certificate (a self-signed Issuer, a Certificate, and cainjector filling the
	// caBundle) instead of rendering a generated Secret.
	CertManager bool
	// TLS is the serving certificate to render; generated (valid CertValidity) when
	// nil and CertManager is false.
	TLS *TLSBundle
	// CertValidity of a generated certificate. Default two years; rerun install to rotate.
	CertValidity time.Duration
	// SVIDTTL is the lifetime of the SVIDs the cluster CA issues. Default DefaultSVIDTTL.
	SVIDTTL time.Duration
	// ProxyKubeDiscovery also renders ProxyKubeDiscoveryRBAC, for proxies run
	// with --discovery kube outside a node with rampart-node. Off by default:
	// it lets every service account list every pod.
	ProxyKubeDiscovery bool
	// DiscoveryNamespaces are the namespaces rampart-node shows every pod besides
	// its own (comma-separated, "*": all); empty: each pod sees its own only.
	DiscoveryNamespaces string
	// EgressGateway also renders the egress gateway (a Deployment of
	// rampart-proxy --serve-egress-gateway and its Service, GatewayName) and
	// points injected proxies at it for Config.EgressGateway.Hosts. Off by
	// default.
	EgressGateway bool
}

func (o *InstallOptions) setDefaults() {
	if o.Namespace == "" {
		o.Namespace = InstallNamespace
	}
	o.setImageDefaults()
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.TimeoutSeconds == 0 {
		o.TimeoutSeconds = 10
	}
	if o.CertValidity == 0 {
		o.CertValidity = 2 * 365 * 24 * time.Hour
	}
	caDefaults(o)
	gatewayDefaults(o)
	o.Config = o.Config.WithDefaults()
}

// ServiceHost is the in-cluster DNS name the webhook certificate must carry.
func (o InstallOptions) ServiceHost() string {
	o.setDefaults()
	return InjectorName + "." + o.Namespace + ".svc"
}

// InstallManifests returns every object that installs Rampart, in apply order:
// namespace, RBAC, TLS, injector Deployment/Service/PDB, node DaemonSet, and last the
// MutatingWebhookConfiguration (so no pod is sent to an injector that is not there yet,
// failurePolicy being Fail).
func InstallManifests(opts InstallOptions) ([]runtime.Object, error) {
	opts.setDefaults()
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	for _, img := range []string{opts.Config.Image, opts.InjectorImage, opts.NodeImage} {
		if err := ValidateImage(img); err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
	}
	tlsObjs, caBundle, err := servingTLS(&opts)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	objs := []runtime.Object{namespace(opts)}
	objs = append(objs, injectorRBAC(opts)...)
	objs = append(objs, caRBAC(opts)...)
	objs = append(objs, nodeRBAC(opts)...)
	if opts.ProxyKubeDiscovery {
		objs = append(objs, ProxyKubeDiscoveryRBAC()...)
	}
	objs = append(objs, tlsObjs...)
	objs = append(objs, injectorDeployment(opts), injectorService(opts), injectorPDB(opts), nodeDaemonSet(opts))
	objs = append(objs, gatewayObjects(opts)...)
	objs = append(objs, webhookConfiguration(opts, caBundle))
	return objs, nil
}

func namespace(o InstallOptions) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: meta(o.Namespace, "", "rampart")}
	// rampart-node is privileged; everything else here would pass "restricted".
	ns.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

// meta names an object and gives it the labels every Rampart object carries.
func meta(name, namespace, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{
		"app.kubernetes.io/name":    component,
		"app.kubernetes.io/part-of": "rampart",
	}}
}

// injectorArgs turns Config into the rampart-injector flags (cmd/rampart-injector).
func injectorArgs(c Config) []string {
	args := []string{
		"--addr=:" + strconv.Itoa(webhookPort),
		"--tls-cert=/etc/rampart-injector/tls/tls.crt",
		"--tls-key=/etc/rampart-injector/tls/tls.key",
		"--proxy-image=" + c.Image,
		"--proxy-pull-policy=" + c.ImagePullPolicy,
		"--proxy-log-level=" + c.LogLevel,
		"--mode=" + c.Mode,
		"--trust-domain=" + c.TrustDomain,
		"--proxy-cpu=" + c.CPURequest,
		"--proxy-memory=" + c.MemoryRequest,
		"--proxy-cpu-limit=" + c.CPULimit,
		"--proxy-memory-limit=" + c.MemoryLimit,
		"--identity=" + c.Identity,
		"--ca-url=" + c.CA.Addr,
		"--ca-token-expiration=" + strconv.FormatInt(c.CA.TokenExpirationSeconds, 10),
		"--spire-csi-driver=" + c.SPIRE.CSIDriver,
		"--spire-host-path=" + c.SPIRE.HostPath,
		"--spire-socket=" + c.SPIRE.SocketName,
		"--bundle-url=" + c.Bundle.URL,
		"--bundle-configmap=" + c.Bundle.ConfigMap,
		"--bundle-key=" + c.Bundle.Key,
		"--rewrite-probes=" + strconv.FormatBool(*c.RewriteProbes),
		"--egress-gateway-addr=" + c.EgressGateway.Addr,
		"--egress-gateway-id=" + c.EgressGateway.Identity,
		"--egress-gateway-hosts=" + c.EgressGateway.Hosts,
	}
	out := args[:0]
	for _, a := range args {
		if a[len(a)-1] != '=' { // an empty value means "the injector's default"
			out = append(out, a)
		}
	}
	return out
}

package injector

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// injectorRBAC is the injector's ServiceAccount, without an automounted token: the
// webhook reads nothing from the API server (namespaces are filtered by the
// webhook's namespaceSelector); the cluster CA's pods mount one (see caRBAC).
func injectorRBAC(o InstallOptions) []runtime.Object {
	sa := &corev1.ServiceAccount{ObjectMeta: meta(InjectorName, o.Namespace, InjectorName)}
	no := false
	sa.AutomountServiceAccountToken = &no
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	return []runtime.Object{sa}
}

// servingTLS returns the objects holding the serving certificate and the caBundle
// for the webhook (empty under cert-manager, whose cainjector fills it in).
func servingTLS(o *InstallOptions) ([]runtime.Object, []byte, error) {
	if o.CertManager {
		return certManagerObjects(*o), nil, nil
	}
	if o.TLS == nil {
		b, err := GenerateTLS([]string{o.ServiceHost(), o.ServiceHost() + ".cluster.local"}, time.Now(), o.CertValidity)
		if err != nil {
			return nil, nil, err
		}
		o.TLS = &b
	}
	sec := &corev1.Secret{
		ObjectMeta: meta(injectorTLS, o.Namespace, InjectorName),
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": o.TLS.Cert, "tls.key": o.TLS.Key, "ca.crt": o.TLS.CACert},
	}
	sec.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return []runtime.Object{sec}, o.TLS.CACert, nil
}

func certManagerObjects(o InstallOptions) []runtime.Object {
	issuer := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
		"metadata": map[string]any{"name": InjectorName + "-selfsigned", "namespace": o.Namespace},
		"spec":     map[string]any{"selfSigned": map[string]any{}},
	}}
	cert := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": InjectorName, "namespace": o.Namespace},
		"spec": map[string]any{
			"secretName": injectorTLS,
			"dnsNames":   []any{o.ServiceHost(), o.ServiceHost() + ".cluster.local"},
			"issuerRef":  map[string]any{"name": InjectorName + "-selfsigned", "kind": "Issuer"},
			"privateKey": map[string]any{"algorithm": "ECDSA", "size": int64(256), "rotationPolicy": "Always"},
		},
	}}
	return []runtime.Object{issuer, cert}
}

func injectorLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": InjectorName}
}

func injectorDeployment(o InstallOptions) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: meta(InjectorName, o.Namespace, InjectorName),
		Spec: appsv1.DeploymentSpec{
			Replicas: &o.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: injectorLabels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: meta("", "", InjectorName).Labels},
				Spec:       injectorPodSpec(o),
			},
		},
	}
	d.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	return d
}

func injectorPodSpec(o InstallOptions) corev1.PodSpec {
	yes := true
	automount := caEnabled(o) // the CA reviews tokens and reads its Secret
	nonRoot := int64(65532)
	return corev1.PodSpec{
		ServiceAccountName:           InjectorName,
		AutomountServiceAccountToken: &automount,
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &nonRoot, RunAsGroup: &nonRoot,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		// Spread replicas so one node going away leaves the webhook (failurePolicy Fail) up.
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: injectorLabels()},
		}},
		Containers: []corev1.Container{{
			Name:  InjectorName,
			Image: o.InjectorImage,
			Args:  append(injectorArgs(o.Config), caArgs(o)...),
			Ports: append([]corev1.ContainerPort{{Name: "https-webhook", ContainerPort: webhookPort, Protocol: corev1.ProtocolTCP}},
				caContainerPorts(o)...),
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			ReadinessProbe:  httpsProbe("/healthz"),
			LivenessProbe:   httpsProbe("/healthz"),
			SecurityContext: restrictedContainer(),
			VolumeMounts:    []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/rampart-injector/tls", ReadOnly: true}},
		}},
		Volumes: []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: injectorTLS}}}},
	}
}

func httpsProbe(path string) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: path, Port: intstr.FromInt32(webhookPort), Scheme: corev1.URISchemeHTTPS}}, PeriodSeconds: 10}
}

func restrictedContainer() *corev1.SecurityContext {
	no, yes := false, true
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes, RunAsNonRoot: &yes,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func injectorService(o InstallOptions) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: meta(InjectorName, o.Namespace, InjectorName),
		Spec: corev1.ServiceSpec{
			Selector: injectorLabels(),
			Ports: append([]corev1.ServicePort{{Name: "https-webhook", Port: 443,
				TargetPort: intstr.FromString("https-webhook"), Protocol: corev1.ProtocolTCP}}, caServicePorts(o)...),
		},
	}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
	return s
}

func injectorPDB(o InstallOptions) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	p := &policyv1.PodDisruptionBudget{
		ObjectMeta: meta(InjectorName, o.Namespace, InjectorName),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: injectorLabels()},
		},
	}
	p.SetGroupVersionKind(policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"))
	return p
}

// webhookConfiguration sends pod CREATEs of opted-in namespaces to the injector.
func webhookConfiguration(o InstallOptions, caBundle []byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	scope := admissionregistrationv1.NamespacedScope
	path := WebhookPath
	port := int32(443)
	m := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: meta(InjectorName, "", InjectorName),
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    WebhookName,
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service:  &admissionregistrationv1.ServiceReference{Namespace: o.Namespace, Name: InjectorName, Path: &path, Port: &port},
				CABundle: caBundle,
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
					Resources: []string{"pods"}, Scope: &scope},
			}},
			FailurePolicy:      &fail,
			SideEffects:        &none,
			ReinvocationPolicy: &ifNeeded,
			TimeoutSeconds:     &o.TimeoutSeconds,
			NamespaceSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceLabel: NamespaceLabelEnabled}},
			// Pods labelled rampart.io/inject=false never reach the webhook; the same key
			// as an annotation is honoured by the webhook itself.
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: InjectAnnotation, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"false"}}}},
		}},
	}
	if o.CertManager {
		m.Annotations = map[string]string{"cert-manager.io/inject-ca-from": o.Namespace + "/" + InjectorName}
	}
	m.SetGroupVersionKind(admissionregistrationv1.SchemeGroupVersion.WithKind("MutatingWebhookConfiguration"))
	return m
}

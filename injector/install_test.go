package injector_test

import (
	"bytes"
	"cmp"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/rampart-mesh/rampart/injector"
)

// TestInstallGolden renders testdata/install/<name>.options.yaml (with the fixed test
// certificate in testdata/install) and compares the YAML with <name>.golden.yaml.
func TestInstallGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/install/*.options.yaml")
	if len(files) < 3 {
		t.Fatalf("only %d cases in testdata/install", len(files))
	}
	for _, f := range files {
		base := strings.TrimSuffix(f, ".options.yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			opts := readInstallOptions(t, f)
			objs, err := injector.InstallManifests(opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := injector.WriteYAML(&buf, objs); err != nil {
				t.Fatal(err)
			}
			golden(t, base+".golden.yaml", buf.Bytes())
			checkWebhook(t, objs, opts.CertManager)
			checkInjectorArgs(t, objs, opts)
		})
	}
}

func readInstallOptions(t *testing.T, path string) injector.InstallOptions {
	t.Helper()
	var opts injector.InstallOptions
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &opts); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !opts.CertManager {
		var b injector.TLSBundle
		for dst, name := range map[*[]byte]string{&b.CACert: "ca.crt", &b.Cert: "tls.crt", &b.Key: "tls.key"} {
			if *dst, err = os.ReadFile(filepath.Join("testdata/install", name)); err != nil {
				t.Fatal(err)
			}
		}
		opts.TLS = &b
	}
	return opts
}

// checkWebhook asserts the webhook settings the issue requires, beyond the golden file.
func checkWebhook(t *testing.T, objs []runtime.Object, certManager bool) {
	t.Helper()
	last, ok := objs[len(objs)-1].(*admissionregistrationv1.MutatingWebhookConfiguration)
	if !ok {
		t.Fatalf("last object is %T, want the MutatingWebhookConfiguration (applied last)", objs[len(objs)-1])
	}
	w := last.Webhooks[0]
	switch {
	case *w.FailurePolicy != admissionregistrationv1.Fail:
		t.Error("failurePolicy is not Fail")
	case *w.SideEffects != admissionregistrationv1.SideEffectClassNone:
		t.Error("sideEffects is not None")
	case *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy:
		t.Error("reinvocationPolicy is not IfNeeded")
	case w.TimeoutSeconds == nil || *w.TimeoutSeconds < 1 || *w.TimeoutSeconds > 30:
		t.Error("timeoutSeconds unset or out of range")
	case w.NamespaceSelector.MatchLabels[injector.NamespaceLabel] != injector.NamespaceLabelEnabled:
		t.Error("namespaceSelector does not require the opt-in label")
	case len(w.ObjectSelector.MatchExpressions) != 1 || w.ObjectSelector.MatchExpressions[0].Key != injector.InjectAnnotation:
		t.Error("objectSelector does not exclude opted-out pods")
	case certManager != (len(w.ClientConfig.CABundle) == 0):
		t.Errorf("caBundle length %d with cert-manager %v", len(w.ClientConfig.CABundle), certManager)
	}
}

// checkInjectorArgs parses the rendered injector args with the injector's own flags:
// they must all exist and yield the configured Config.
func checkInjectorArgs(t *testing.T, objs []runtime.Object, opts injector.InstallOptions) {
	t.Helper()
	want := opts.Config
	ns := cmp.Or(opts.Namespace, injector.InstallNamespace)
	if want.CA.Addr == "" { // install points proxies at the CA of its namespace
		want.CA.Addr = "https://" + injector.InjectorName + "." + ns + ".svc:15012"
	}
	if opts.EgressGateway && want.EgressGateway.Addr == "" { // and at its egress gateway
		want.EgressGateway.Addr = injector.GatewayName + "." + ns + ".svc:15008"
		want.EgressGateway.Identity = "spiffe://cluster.local/ns/" + ns + "/sa/" + injector.GatewayName
	}
	for _, o := range objs {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		fs := flag.NewFlagSet("rampart-injector", flag.ContinueOnError)
		fs.String("addr", "", "")
		fs.String("tls-cert", "", "")
		fs.String("tls-key", "", "")
		fs.String("metrics-addr", "", "")
		var got injector.Config
		got.BindFlags(fs)
		var ca injector.CAFlags
		ca.BindFlags(fs)
		if err := fs.Parse(d.Spec.Template.Spec.Containers[0].Args); err != nil {
			t.Fatalf("rendered args do not parse: %v", err)
		}
		if caOn := want.WithDefaults().Identity == injector.IdentityCA; ca.Enabled != caOn || (caOn && ca.Namespace != ns) {
			t.Errorf("CA flags %+v, want enabled=%v in namespace %s", ca, caOn, ns)
		}
		if !reflect.DeepEqual(got.WithDefaults(), want.WithDefaults()) {
			t.Errorf("args %v give config\n%+v, want\n%+v", d.Spec.Template.Spec.Containers[0].Args, got, want)
		}
		return
	}
	t.Fatal("no Deployment rendered")
}

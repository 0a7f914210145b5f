package main

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/rampart-mesh/rampart/injector"
)

// TestRenderedArgsParse: the args `rampart install` renders into the injector
// Deployment must be accepted by this binary's flags and give the same Config.
func TestRenderedArgsParse(t *testing.T) {
	want := injector.Config{Mode: injector.ModePermissive, TrustDomain: "example.org", CPULimit: "1",
		SPIRE: injector.SPIREConfig{CSIDriver: "csi.spiffe.io"}}
	objs, err := injector.InstallManifests(injector.InstallOptions{Config: want, CertManager: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			opts, _, err := parseFlags(d.Spec.Template.Spec.Containers[0].Args)
			if err != nil {
				t.Fatalf("rendered args: %v", err)
			}
			if got := opts.Config.WithDefaults(); got.Mode != want.Mode || got.TrustDomain != want.TrustDomain ||
				got.CPULimit != want.CPULimit || got.SPIRE.CSIDriver != want.SPIRE.CSIDriver || opts.Addr != ":9443" {
				t.Errorf("parsed %+v from %v", got, d.Spec.Template.Spec.Containers[0].Args)
			}
			return
		}
	}
	t.Fatal("no Deployment")
}

func TestBadFlag(t *testing.T) {
	if _, _, err := parseFlags([]string{"--no-such-flag"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

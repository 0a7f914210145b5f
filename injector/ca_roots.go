package injector

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CARootsKey is the key of the CA's PEM roots in the roots ConfigMap.
const CARootsKey = "roots.pem"

// PublishRoots creates or updates the ConfigMap namespace/name holding the CA's
// PEM roots (public: they are what every proxy trusts), so that a proxy the
// webhook does not inject, such as the egress gateway, can verify the CA.
func PublishRoots(ctx context.Context, c kubernetes.Interface, namespace, name string, roots []byte) error {
	cms := c.CoreV1().ConfigMaps(namespace)
	cm, err := cms.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: meta(name, namespace, InjectorName), Data: map[string]string{CARootsKey: string(roots)}}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	case err == nil && cm.Data[CARootsKey] != string(roots):
		cm.Data = map[string]string{CARootsKey: string(roots)}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) { // another replica won the create
		return fmt.Errorf("publish CA roots %s/%s: %w", namespace, name, err)
	}
	return nil
}

package injector

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Keys of the CA Secret (the names identity.InitCA gives its files).
const (
	CASecretName    = "rampart-ca"
	CASecretCertKey = "ca.crt"
	CASecretKeyKey  = "ca.key"
)

// CASecretOptions say where the CA's root lives and how to use or make one.
type CASecretOptions struct {
	// Namespace and Name of the Secret. Defaults InstallNamespace, CASecretName.
	Namespace, Name string
	// Load turns the Secret's ca.crt and ca.key (PEM) into an Authority
	// (identity.ParseCA). Required.
	Load func(certPEM, keyPEM []byte) (Authority, error)
	// Generate makes a new root (identity.NewCA + MarshalPEM) when the Secret does
	// not exist; nil means the Secret must exist (it was made by cert-manager or by
	// hand).
	Generate func() (certPEM, keyPEM []byte, err error)
}

// LoadOrCreateCA reads the CA's root and key from its Secret through the API (never
// a mounted volume: the key exists only in this process's memory and in etcd). When
// the Secret is absent and Generate is set it creates it, like istiod's self-signed
// root: the key never leaves the cluster and re-running `rampart install` does not
// replace it. Two replicas starting together both try; the loser of the create
// reads the winner's Secret, so there is one root.
func LoadOrCreateCA(ctx context.Context, c kubernetes.Interface, opts CASecretOptions) (Authority, error) {
	if opts.Namespace == "" {
		opts.Namespace = InstallNamespace
	}
	if opts.Name == "" {
		opts.Name = CASecretName
	}
	secrets := c.CoreV1().Secrets(opts.Namespace)
	sec, err := secrets.Get(ctx, opts.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && opts.Generate != nil {
		sec, err = createCASecret(ctx, c, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("CA secret %s/%s: %w", opts.Namespace, opts.Name, err)
	}
	cert, key := sec.Data[CASecretCertKey], sec.Data[CASecretKeyKey]
	if len(cert) == 0 || len(key) == 0 {
		return nil, fmt.Errorf("CA secret %s/%s: want keys %s and %s", opts.Namespace, opts.Name, CASecretCertKey, CASecretKeyKey)
	}
	a, err := opts.Load(cert, key)
	if err != nil {
		return nil, fmt.Errorf("CA secret %s/%s: %w", opts.Namespace, opts.Name, err)
	}
	return a, nil
}

func createCASecret(ctx context.Context, c kubernetes.Interface, opts CASecretOptions) (*corev1.Secret, error) {
	cert, key, err := opts.Generate()
	if err != nil {
		return nil, fmt.Errorf("generate root: %w", err)
	}
	sec := &corev1.Secret{
		ObjectMeta: meta(opts.Name, opts.Namespace, InjectorName),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{CASecretCertKey: cert, CASecretKeyKey: key},
	}
	secrets := c.CoreV1().Secrets(opts.Namespace)
	created, err := secrets.Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return secrets.Get(ctx, opts.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	return created, nil
}

package injector

import (
	"path"

	corev1 "k8s.io/api/core/v1"
)

// identityEnv tells the proxy where its SVID comes from: the cluster CA (address,
// token file, bundle) or the SPIRE agent's socket.
func identityEnv(cfg Config, s settings) []corev1.EnvVar {
	if s.identity == IdentitySPIRE {
		return []corev1.EnvVar{{Name: EnvSpiffeSocket, Value: "unix://" + path.Join(spireMountPath, cfg.SPIRE.SocketName)}}
	}
	env := []corev1.EnvVar{
		{Name: EnvCAAddr, Value: cfg.CA.Addr},
		{Name: EnvCATokenFile, Value: path.Join(caTokenMountPath, "token")},
	}
	if cfg.CA.Bundle != "" {
		env = append(env, corev1.EnvVar{Name: EnvCABundle, Value: cfg.CA.Bundle})
	}
	return env
}

func identityMount(s settings) corev1.VolumeMount {
	if s.identity == IdentitySPIRE {
		return corev1.VolumeMount{Name: spireVolume, MountPath: spireMountPath, ReadOnly: true}
	}
	return corev1.VolumeMount{Name: caTokenVolume, MountPath: caTokenMountPath, ReadOnly: true}
}

func identityVolume(cfg Config, s settings) corev1.Volume {
	if s.identity == IdentitySPIRE {
		return corev1.Volume{Name: spireVolume, VolumeSource: spireSource(cfg.SPIRE)}
	}
	return corev1.Volume{Name: caTokenVolume, VolumeSource: caTokenSource(cfg.CA)}
}

// caTokenSource is the pod's service-account token for the cluster CA alone
// (audience rampart, short-lived, rotated by the kubelet): the CA learns the pod's
// namespace and service account from it with a TokenReview, and it is useless
// against the API server, which accepts only its own audience.
func caTokenSource(ca CAConfig) corev1.VolumeSource {
	exp := ca.TokenExpirationSeconds
	return corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: CATokenAudience, Path: "token", ExpirationSeconds: &exp}},
	}}}
}

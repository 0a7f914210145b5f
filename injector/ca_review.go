package injector

import (
	"context"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// workload is the namespace and service account a token was issued to.
type workload struct{ namespace, serviceAccount string }

func (w workload) String() string { return w.namespace + "/" + w.serviceAccount }

// spiffeID is the only ID the CA signs for w.
func (w workload) spiffeID(td string) string {
	return "spiffe://" + td + "/ns/" + w.namespace + "/sa/" + w.serviceAccount
}

// reviewToken asks the API server who token belongs to (a TokenReview of audience
// CATokenAudience). It accepts only an authenticated service-account token whose
// audiences include ours: an expired, forged, other cluster's or other audience's
// token, one of a deleted service account, or a user's token are refusals.
func reviewToken(ctx context.Context, c kubernetes.Interface, token string) (workload, error) {
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{
		Token: token, Audiences: []string{CATokenAudience}}}
	got, err := c.AuthenticationV1().TokenReviews().Create(ctx, tr, metav1.CreateOptions{})
	if err != nil {
		return workload{}, refuse(503, reasonReviewFailed, "TokenReview: %v", err)
	}
	st := got.Status
	if !st.Authenticated {
		// The API server says why only in prose; the reason label is a best effort.
		reason := reasonUnauthent
		switch {
		case strings.Contains(st.Error, "expired"):
			reason = reasonExpired
		case strings.Contains(st.Error, "audience"):
			reason = reasonAudience
		}
		return workload{}, refuse(401, reason, "token not authenticated: %s", st.Error)
	}
	if !slices.Contains(st.Audiences, CATokenAudience) {
		return workload{}, refuse(401, reasonAudience, "token audiences %q lack %q", st.Audiences, CATokenAudience)
	}
	return serviceAccountOf(st.User.Username)
}

// serviceAccountOf parses system:serviceaccount:<namespace>:<name>.
func serviceAccountOf(username string) (workload, error) {
	parts := strings.Split(username, ":")
	if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" {
		return workload{}, refuse(403, reasonNotSA, "%q is not a service account", username)
	}
	w := workload{namespace: parts[2], serviceAccount: parts[3]}
	if len(validation.IsDNS1123Label(w.namespace)) > 0 || len(validation.IsDNS1123Subdomain(w.serviceAccount)) > 0 {
		return workload{}, refuse(403, reasonNotSA, "%q: invalid namespace or service account name", username)
	}
	return w, nil
}

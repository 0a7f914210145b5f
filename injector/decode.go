package injector

import (
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// ErrMalformedReview wraps every reason DecodeReview refuses a request body.
var ErrMalformedReview = errors.New("malformed AdmissionReview")

// DecodeReview parses the body of an admission request: an admission.k8s.io/v1
// AdmissionReview with a request that carries a UID. Field names are matched case
// sensitively, as the API server writes them, so no two readers can disagree on them.
func DecodeReview(body []byte) (admission.Request, error) {
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &ar); err != nil {
		return admission.Request{}, fmt.Errorf("%w: %w", ErrMalformedReview, err)
	}
	if gvk := ar.GroupVersionKind(); gvk != admissionv1.SchemeGroupVersion.WithKind("AdmissionReview") {
		return admission.Request{}, fmt.Errorf("%w: apiVersion %q kind %q, want admission.k8s.io/v1 AdmissionReview",
			ErrMalformedReview, ar.APIVersion, ar.Kind)
	}
	if ar.Request == nil {
		return admission.Request{}, fmt.Errorf("%w: no request", ErrMalformedReview)
	}
	if ar.Request.UID == "" {
		return admission.Request{}, fmt.Errorf("%w: request has no uid", ErrMalformedReview)
	}
	return admission.Request{AdmissionRequest: *ar.Request}, nil
}

package injector

import (
	"context"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Handler is the admission handler: it injects pods on CREATE and allows every other
// request unchanged. Which namespaces reach it is decided by the webhook
// configuration's namespaceSelector (see Manifests).
type Handler struct {
	cfg Config
}

var _ admission.Handler = (*Handler)(nil)

// NewHandler validates cfg and returns a Handler for it.
func NewHandler(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("injector config: %w", err)
	}
	return &Handler{cfg: cfg.WithDefaults()}, nil
}

// Handle implements admission.Handler. Errors become Errored responses, which the
// API server (failurePolicy Fail) turns into a refused pod.
func (h *Handler) Handle(_ context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" || req.SubResource != "" {
		return admission.Allowed("not a pod: left unchanged")
	}
	if req.Operation != "CREATE" {
		return admission.Allowed("only CREATE is injected")
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decode pod: %w", err))
	}
	res, err := Mutate(&pod, h.cfg)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("inject: %w", err))
	}
	if res.Skipped != "" {
		return admission.Allowed(res.Skipped)
	}
	raw, err := json.Marshal(res.Pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encode pod: %w", err))
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

package injector

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// DefaultMaxRequestBytes bounds an AdmissionReview body: a CREATE carries one object,
// which etcd caps at 1.5 MiB, so 4 MiB leaves room for JSON escaping and metadata.
const DefaultMaxRequestBytes = 4 << 20

// reviewServer serves AdmissionReviews over HTTP for one admission.Handler. Unlike
// controller-runtime's Webhook, a body that is not a valid review gets an HTTP 4xx
// status (not a 200 carrying an error), so probes and logs see the failure.
type reviewServer struct {
	handler  admission.Handler
	maxBytes int64
	log      *slog.Logger
}

// NewReviewHandler returns an http.Handler that decodes AdmissionReviews of at most
// maxBytes (DefaultMaxRequestBytes when <= 0), passes them to h and writes the review
// response. Malformed bodies get 400, oversized ones 413, each with a reason.
func NewReviewHandler(h admission.Handler, maxBytes int64, log *slog.Logger) http.Handler {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRequestBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &reviewServer{handler: h, maxBytes: maxBytes, log: log}
}

func (s *reviewServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, status, err := s.readReview(w, r)
	if err != nil {
		s.log.Warn("admission refused", "status", status, "remote", r.RemoteAddr, "err", err)
		writeReview(w, status, admission.Errored(int32(status), err))
		return
	}
	resp := s.handler.Handle(r.Context(), req)
	if err := resp.Complete(req); err != nil {
		resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("complete response: %w", err))
		resp.UID = req.UID
	}
	s.log.Debug("admission", "uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace,
		"allowed", resp.Allowed, "patched", len(resp.Patch) > 0, "message", resp.Result.Message)
	writeReview(w, http.StatusOK, resp)
}

// readReview reads and decodes the request, or returns the HTTP status refusing it.
func (s *reviewServer) readReview(w http.ResponseWriter, r *http.Request) (admission.Request, int, error) {
	if r.Method != http.MethodPost {
		return admission.Request{}, http.StatusMethodNotAllowed, fmt.Errorf("method %s, want POST", r.Method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return admission.Request{}, http.StatusUnsupportedMediaType,
			fmt.Errorf("content type %q, want application/json", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBytes))
	if err != nil {
		if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
			return admission.Request{}, http.StatusRequestEntityTooLarge,
				fmt.Errorf("request body larger than %d bytes", s.maxBytes)
		}
		return admission.Request{}, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	req, err := DecodeReview(body)
	if err != nil {
		return admission.Request{}, http.StatusBadRequest, err
	}
	return req, http.StatusOK, nil
}

func writeReview(w http.ResponseWriter, status int, resp admission.Response) {
	ar := admissionv1.AdmissionReview{Response: &resp.AdmissionResponse}
	ar.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	raw, err := json.Marshal(ar)
	if err != nil { // cannot happen for this type; fail with a status the server understands
		http.Error(w, "encode review", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

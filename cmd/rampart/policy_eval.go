package main

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego"
)

// decisionJSON is what `rampart policy eval` prints.
type decisionJSON struct {
	Allowed    bool         `json:"allowed"`
	HTTPStatus int          `json:"http_status,omitempty"`
	Body       string       `json:"body,omitempty"`
	Headers    []rego.Field `json:"headers,omitempty"`
	// What an allow changes in the forwarded request and the response.
	RequestHeadersToRemove  []string       `json:"request_headers_to_remove,omitempty"`
	ResponseHeadersToAdd    []rego.Field   `json:"response_headers_to_add,omitempty"`
	QueryParametersToSet    []rego.Field   `json:"query_parameters_to_set,omitempty"`
	QueryParametersToRemove []string       `json:"query_parameters_to_remove,omitempty"`
	DynamicMetadata         map[string]any `json:"dynamic_metadata,omitempty"`
	Reason                  string         `json:"reason,omitempty"`
	Revision                string         `json:"revision"`
	DryRun                  bool           `json:"dry_run,omitempty"`
	DecisionID              string         `json:"decision_id"`
	Duration                string         `json:"duration"`
}

func toJSON(d rego.Decision, took time.Duration) decisionJSON {
	return decisionJSON{
		Allowed: d.Allowed, HTTPStatus: d.HTTPStatus, Body: d.Body, Headers: d.Headers,
		RequestHeadersToRemove: d.RequestHeadersToRemove, ResponseHeadersToAdd: d.ResponseHeadersToAdd,
		QueryParametersToSet: d.QueryParametersToSet, QueryParametersToRemove: d.QueryParametersToRemove,
		DynamicMetadata: d.DynamicMetadata,
		Reason:          d.Reason, Revision: d.Revision, DryRun: d.DryRun, DecisionID: d.ID,
		Duration: took.String(),
	}
}

func newPolicyEvalCmd() *cobra.Command {
	var f bundleFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "eval --bundle PATH --input FILE|-",
		Short: "decide one request with a bundle and print the decision as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, in, err := f.load(cmd, rego.WithDryRun(dryRun))
			if err != nil {
				return err
			}
			start := time.Now()
			d := e.Decide(cmd.Context(), in)
			out := json.NewEncoder(cmd.OutOrStdout())
			out.SetIndent("", "  ")
			return out.Encode(toJSON(d, time.Since(start)))
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "let policy denies through (still reported)")
	return cmd
}

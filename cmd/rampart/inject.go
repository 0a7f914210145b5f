package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
	"github.com/rampart-mesh/rampart/injector"
)

// newInjectCmd adds the proxy to workload manifests offline, like istioctl kube-inject:
// `rampart inject -f app.yaml | kubectl apply -f -`.
func newInjectCmd() *cobra.Command {
	var (
		cfg      injector.Config
		file     string
		caBundle string
	)
	cmd := &cobra.Command{
		Use:   "inject -f FILE|-",
		Short: "add the Rampart sidecar to workload manifests offline",
		Long: "Reads YAML or JSON manifests and prints them with the rampart-proxy native " +
			"sidecar added to every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job " +
			"and CronJob pod template, exactly as the webhook would. Other objects pass through.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, closeIn, err := openInput(cmd, file)
			if err != nil {
				return err
			}
			defer closeIn()
			if cfg.Image == "" { // the proxy of this binary's version, not the library's fallback
				cfg.Image = injector.ImageRef(injector.DefaultRegistry, injector.ProxyImageName, version.Tag())
			}
			if caBundle != "" {
				b, err := os.ReadFile(caBundle)
				if err != nil {
					return fmt.Errorf("inject: --ca-bundle: %w", err)
				}
				cfg.CA.Bundle = string(b)
			}
			return injector.InjectYAML(in, cmd.OutOrStdout(), cfg)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "manifest file, or - for stdin (required)")
	_ = cmd.MarkFlagRequired("filename")
	// The webhook passes the CA bundle itself; offline, read it from the cluster:
	// kubectl -n rampart-system get secret rampart-ca -o jsonpath='{.data.ca\.crt}' | base64 -d
	cmd.Flags().StringVar(&caBundle, "ca-bundle", "", "PEM file of the cluster CA's root (the rampart-ca Secret's ca.crt); without it CA-mode proxies refuse to start")
	addConfigFlags(cmd, &cfg)
	return cmd
}

func openInput(cmd *cobra.Command, file string) (io.Reader, func(), error) {
	if file == "-" {
		return cmd.InOrStdin(), func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("inject: %w", err)
	}
	return f, func() { f.Close() }, nil
}

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goRun runs `go run ./<pkg> args...` in the repository and returns stdout.
func goRun(ctx context.Context, repo, pkg string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"run", "./" + pkg}, args...)...)
	cmd.Dir = repo
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go run ./%s %s: %w\n%s", pkg, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// buildImages builds every image (make images) into dir.
func buildImages(ctx context.Context, repo, dir string) error {
	_, err := goRun(ctx, repo, "cmd/rampart-images", "build", "-out", dir)
	return err
}

// pushImages pushes the layout dir to the registry.
func pushImages(ctx context.Context, repo, dir, registry string) error {
	_, err := goRun(ctx, repo, "cmd/rampart-images", "push", "-out", dir, "-registry", registry)
	return err
}

// layoutTag returns the tag the layout's images carry (rampart-images tags all
// of them with one version) and checks the images the cluster needs are there.
func layoutTag(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return "", fmt.Errorf("cluster: images: %w (run make images)", err)
	}
	var idx struct {
		Manifests []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return "", fmt.Errorf("cluster: images: %s: %w", dir, err)
	}
	tags := map[string]string{}
	for _, m := range idx.Manifests {
		ref := m.Annotations["org.opencontainers.image.ref.name"]
		slash := strings.LastIndexByte(ref, '/')
		if i := strings.LastIndexByte(ref, ':'); i > slash {
			tags[ref[slash+1:i]] = ref[i+1:]
		}
	}
	for _, need := range []string{"rampart-pause", "rampart-demo"} {
		if tags[need] == "" {
			return "", fmt.Errorf("cluster: images: %s has no %s image (run make images)", dir, need)
		}
	}
	return tags["rampart-pause"], nil
}

package images

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Sizes of an image: compressed is what a pull downloads (layers, as a registry
// lists them), uncompressed what the layers take unpacked (as `docker images`
// shows).
func Sizes(img v1.Image) (compressed, uncompressed int64, err error) {
	layers, err := img.Layers()
	if err != nil {
		return 0, 0, fmt.Errorf("images: %w", err)
	}
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return 0, 0, fmt.Errorf("images: %w", err)
		}
		compressed += n
		rc, err := l.Uncompressed()
		if err != nil {
			return 0, 0, fmt.Errorf("images: %w", err)
		}
		u, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("images: %w", err)
		}
		uncompressed += u
	}
	return compressed, uncompressed, nil
}

package redirect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Adopt takes over a pod attached earlier (by this or a previous agent) from its pins.
func Adopt(pinRoot, name string) (*Handle, error) {
	if pinRoot == "" {
		pinRoot = DefaultPinRoot
	}
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("%w: name %q", ErrBadOptions, name)
	}
	dir := filepath.Join(pinRoot, name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("adopt %s: %w", name, err)
	}
	h := &Handle{name: name, dir: dir, links: map[string]link.Link{}, maps: map[string]*ebpf.Map{}}
	for _, e := range entries {
		if err := h.adoptPin(e.Name()); err != nil {
			return nil, errors.Join(fmt.Errorf("adopt %s: %w", name, err), h.Release())
		}
	}
	return h, nil
}

func (h *Handle) adoptPin(file string) error {
	path := filepath.Join(h.dir, file)
	switch {
	case strings.HasPrefix(file, mapPrefix):
		m, err := ebpf.LoadPinnedMap(path, nil)
		if err != nil {
			return fmt.Errorf("map %s: %w", file, err)
		}
		h.maps[strings.TrimPrefix(file, mapPrefix)] = m
	case file == pinSkMsg:
		p, err := ebpf.LoadPinnedProgram(path, nil)
		if err != nil {
			return fmt.Errorf("program %s: %w", file, err)
		}
		h.skMsg = p
	default:
		l, err := link.LoadPinnedLink(path, nil)
		if err != nil {
			return fmt.Errorf("link %s: %w", file, err)
		}
		h.links[file] = l
	}
	return nil
}

// Pinned lists the names of the pods pinned under pinRoot.
func Pinned(pinRoot string) ([]string, error) {
	if pinRoot == "" {
		pinRoot = DefaultPinRoot
	}
	entries, err := os.ReadDir(pinRoot)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list pins: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Detach removes a pinned pod's capture without a live handle.
func Detach(pinRoot, name string) error {
	h, err := Adopt(pinRoot, name)
	if err != nil {
		return err
	}
	return h.Close()
}

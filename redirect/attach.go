package redirect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// ErrAlreadyAttached is returned by Attach when the pod's pin folder exists: adopt
// it with Adopt (or remove it with Detach) instead.
var ErrAlreadyAttached = errors.New("pod already attached")

// Attach loads the capture programs for one pod, attaches them to its cgroup and
// network namespace and pins links and maps under PinRoot/Name, so that they stay
// attached when the caller exits. On error nothing stays attached.
func Attach(opts Options) (*Handle, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := CheckKernel(); err != nil {
		return nil, err
	}
	dir := filepath.Join(opts.PinRoot, opts.Name)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("attach %s: %w", opts.Name, ErrAlreadyAttached)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("attach %s: %w", opts.Name, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pin folder: %w", err)
	}
	h := &Handle{name: opts.Name, dir: dir, links: map[string]link.Link{}, maps: map[string]*ebpf.Map{}}
	if err := h.load(&opts); err != nil {
		return nil, errors.Join(err, h.Close())
	}
	return h, nil
}

func (h *Handle) load(opts *Options) error {
	spec, err := loadCapture()
	if err != nil {
		return fmt.Errorf("read capture objects: %w", err)
	}
	var objs captureObjects
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		return fmt.Errorf("load capture programs: %w", err)
	}
	defer objs.capturePrograms.Close() // links and pins hold what stays
	for name, m := range objs.captureMaps.byName() {
		h.maps[name] = m
		if err := m.Pin(filepath.Join(h.dir, mapPrefix+name)); err != nil {
			return fmt.Errorf("pin map %s: %w", name, err)
		}
	}
	if err := fill(&objs.captureMaps, opts); err != nil {
		return err
	}
	if opts.InboundListener != nil {
		if err := h.SetInboundListener(opts.InboundListener); err != nil {
			return err
		}
	}
	if opts.Accelerate {
		if err := h.attachSkMsg(objs.RampartSkMsg); err != nil {
			return err
		}
	}
	// The netns program first and connect4 last (see cgroupPrograms): a pod's
	// capture check passes only once all of capture is in place.
	if opts.NetNSPath != "" {
		if err := h.attachNetNS(opts.NetNSPath, objs.RampartSkLookup); err != nil {
			return err
		}
	}
	return h.attachCgroup(opts.CgroupPath, &objs.capturePrograms)
}

func (h *Handle) attachCgroup(path string, progs *capturePrograms) error {
	for _, c := range cgroupPrograms() {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: path, Attach: c.attach, Program: c.prog(progs)})
		if err != nil {
			return fmt.Errorf("attach %s: %w", c.pin, featureErr(c.attach.String(), c.minKernel, err))
		}
		if err := h.keepLink(c.pin, l); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handle) attachNetNS(path string, prog *ebpf.Program) error {
	ns, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open netns: %w", err)
	}
	defer ns.Close()
	l, err := link.AttachNetNs(int(ns.Fd()), prog)
	if err != nil {
		return fmt.Errorf("attach sk_lookup: %w", featureErr("sk_lookup netns link", "5.9", err))
	}
	return h.keepLink(pinSkLookup, l)
}

// attachSkMsg attaches the short-circuit to the pairs sockhash; the pinned map keeps
// the attachment, the pinned program lets Close detach it.
func (h *Handle) attachSkMsg(prog *ebpf.Program) error {
	p, err := prog.Clone()
	if err != nil {
		return fmt.Errorf("sk_msg: %w", err)
	}
	h.skMsg = p
	if err := p.Pin(filepath.Join(h.dir, pinSkMsg)); err != nil {
		return fmt.Errorf("pin sk_msg: %w", err)
	}
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: h.maps[mapPairs].FD(), Program: p, Attach: ebpf.AttachSkMsgVerdict,
	})
	if err != nil {
		return fmt.Errorf("attach sk_msg: %w", featureErr("sk_msg verdict", "4.17", err))
	}
	return nil
}

func (h *Handle) keepLink(pin string, l link.Link) error {
	h.links[pin] = l
	if err := l.Pin(filepath.Join(h.dir, pin)); err != nil {
		return fmt.Errorf("pin %s: %w", pin, err)
	}
	return nil
}

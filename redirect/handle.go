package redirect

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Handle is one captured pod. Close detaches it; Release lets go of it while it stays
// attached (a restarted agent adopts it with Adopt).
type Handle struct {
	name  string
	dir   string
	links map[string]link.Link
	maps  map[string]*ebpf.Map
	skMsg *ebpf.Program
}

// Name is the pod's name under the pin root.
func (h *Handle) Name() string { return h.name }

// Close detaches every program from the pod and removes its pins.
func (h *Handle) Close() error {
	var errs []error
	for pin, l := range h.links {
		if err := l.Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("unpin %s: %w", pin, err))
		}
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", pin, err))
		}
	}
	if h.skMsg != nil {
		if pairs := h.maps[mapPairs]; pairs != nil {
			err := link.RawDetachProgram(link.RawDetachProgramOptions{
				Target: pairs.FD(), Program: h.skMsg, Attach: ebpf.AttachSkMsgVerdict,
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("detach sk_msg: %w", err))
			}
		}
	}
	errs = append(errs, h.Release())
	if err := os.RemoveAll(h.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove pins: %w", err))
	}
	return errors.Join(errs...)
}

// Release closes the handle's file descriptors and leaves the pod attached and pinned.
func (h *Handle) Release() error {
	var errs []error
	for _, l := range h.links {
		errs = append(errs, l.Close())
	}
	for _, m := range h.maps {
		errs = append(errs, m.Close())
	}
	if h.skMsg != nil {
		errs = append(errs, h.skMsg.Close())
	}
	h.links, h.maps, h.skMsg = map[string]link.Link{}, map[string]*ebpf.Map{}, nil
	return errors.Join(errs...)
}

// SetInboundListener makes conn (the proxy's listening TCP socket, MPTCP off) the
// target of inbound capture, replacing any earlier one.
func (h *Handle) SetInboundListener(conn syscall.Conn) error {
	m := h.maps[mapInboundListener]
	if m == nil {
		return errors.New("set inbound listener: map not loaded")
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("set inbound listener: %w", err)
	}
	var putErr error
	err = raw.Control(func(fd uintptr) { putErr = m.Put(uint32(0), uint64(fd)) })
	if errors.Is(putErr, unix.EOPNOTSUPP) {
		return fmt.Errorf("set inbound listener: %w (an MPTCP listener? Go listeners default to MPTCP: ListenConfig.SetMultipathTCP(false))", putErr)
	}
	if err = errors.Join(err, putErr); err != nil {
		return fmt.Errorf("set inbound listener: %w", err)
	}
	return nil
}

// HasInboundListener reports whether an inbound listener is registered (and still
// open: the kernel drops it from the map when the proxy closes it).
func (h *Handle) HasInboundListener() bool {
	m := h.maps[mapInboundListener]
	if m == nil {
		return false
	}
	var cookie uint64
	return m.Lookup(uint32(0), &cookie) == nil
}

// SetProxyCgroupID changes the cgroup whose sockets are never redirected, e.g. after
// the proxy container restarted in a new cgroup.
func (h *Handle) SetProxyCgroupID(id uint64) error {
	m := h.maps[mapSettings]
	if m == nil {
		return errors.New("set proxy cgroup: map not loaded")
	}
	var cfg captureConfig
	if err := m.Lookup(uint32(0), &cfg); err != nil {
		return fmt.Errorf("set proxy cgroup: %w", err)
	}
	cfg.ProxyCgroupId = id
	if err := m.Put(uint32(0), cfg); err != nil {
		return fmt.Errorf("set proxy cgroup: %w", err)
	}
	return nil
}

// ProxyCgroupID is the cgroup id currently exempt from redirection.
func (h *Handle) ProxyCgroupID() (uint64, error) {
	m := h.maps[mapSettings]
	if m == nil {
		return 0, errors.New("proxy cgroup: map not loaded")
	}
	var cfg captureConfig
	if err := m.Lookup(uint32(0), &cfg); err != nil {
		return 0, fmt.Errorf("proxy cgroup: %w", err)
	}
	return cfg.ProxyCgroupId, nil
}

package redirect

import (
	"errors"
	"fmt"
)

// Stats are the pod's capture counters, summed over CPUs since it was attached.
type Stats struct {
	Redirected        uint64 // outbound connects rewritten to the outbound port
	SkippedProxy      uint64 // connects by the proxy itself
	SkippedExcluded   uint64 // connects to excluded ports or CIDRs
	OrigDstAnswered   uint64 // SO_ORIGINAL_DST answers
	OrigDstMissed     uint64 // SO_ORIGINAL_DST asked on a redirected socket with no record
	InboundSteered    uint64 // inbound connections steered to the inbound listener
	InboundNoListener uint64 // inbound connections dropped: no listener registered
}

// Stats reads the pod's counters.
func (h *Handle) Stats() (Stats, error) {
	m := h.maps[mapStats]
	if m == nil {
		return Stats{}, errors.New("stats: map not loaded")
	}
	var vals [7]uint64
	for i := range vals {
		var perCPU []uint64
		if err := m.Lookup(uint32(i), &perCPU); err != nil {
			return Stats{}, fmt.Errorf("stats: %w", err)
		}
		for _, v := range perCPU {
			vals[i] += v
		}
	}
	return Stats{vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6]}, nil
}

// OrigDstEntries counts the recorded original destinations (an LRU map of 65536).
func (h *Handle) OrigDstEntries() (int, error) {
	m := h.maps[mapOrigDst]
	if m == nil {
		return 0, errors.New("orig dst entries: map not loaded")
	}
	var k, v captureAddr
	n := 0
	it := m.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	if err := it.Err(); err != nil {
		return n, fmt.Errorf("orig dst entries: %w", err)
	}
	return n, nil
}

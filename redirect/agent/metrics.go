package agent

import "github.com/prometheus/client_golang/prometheus"

// metrics is read at scrape time from the Reconciler's handles.
type metrics struct {
	r        *Reconciler
	failures prometheus.Counter
	retries  *prometheus.CounterVec
	attached *prometheus.Desc
	entries  *prometheus.Desc
}

func newMetrics(r *Reconciler) *metrics {
	return &metrics{
		r: r,
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_node_attach_failures_total", Help: "Pods whose capture could not be attached.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_node_sync_retries_total",
			Help: "Pod syncs retried with backoff: reason=pending (cgroup, proxy cgroup or listener not there yet) or error.",
		}, []string{"reason"}),
		attached: prometheus.NewDesc("rampart_node_pods_attached", "Pods whose traffic is captured.", nil, nil),
		entries: prometheus.NewDesc("rampart_node_map_entries",
			"Entries in the capture maps, summed over pods.", []string{"map"}, nil),
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.failures.Describe(ch)
	m.retries.Describe(ch)
	ch <- m.attached
	ch <- m.entries
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.failures.Collect(ch)
	m.retries.Collect(ch)
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	total := 0
	for _, h := range m.r.pods {
		if n, err := h.OrigDstEntries(); err == nil {
			total += n
		}
	}
	ch <- prometheus.MustNewConstMetric(m.attached, prometheus.GaugeValue, float64(len(m.r.pods)))
	ch <- prometheus.MustNewConstMetric(m.entries, prometheus.GaugeValue, float64(total), "orig_dst")
}

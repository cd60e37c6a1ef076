// Package metrics holds ftpsd's Prometheus metrics, on a registry of their
// own (no global state, so that tests can run several servers in one
// process). Every method is safe on a nil *Metrics, which records nothing:
// the protocol engine calls them unconditionally.
package metrics

import (
	"crypto/tls"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors of one ftpsd process.
type Metrics struct {
	reg *prometheus.Registry

	sessionsActive  prometheus.Gauge
	sessionsTotal   prometheus.Counter
	sessionsRefused *prometheus.CounterVec
	sessionsClosed  *prometheus.CounterVec
	dataRefused     *prometheus.CounterVec
	logins          *prometheus.CounterVec
	handshakes      *prometheus.CounterVec
	bytes           *prometheus.CounterVec
	transfers       *prometheus.CounterVec
	replies         *prometheus.CounterVec
	certNotAfter    prometheus.Gauge
	reloads         *prometheus.CounterVec
	bans            prometheus.Counter
}

// New makes the collectors and registers them, with the Go runtime and
// process collectors, on a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sessionsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ftpsd_sessions_active", Help: "Control connections open now.",
		}),
		sessionsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftpsd_sessions_total", Help: "Control connections accepted.",
		}),
		sessionsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_sessions_refused_total", Help: "Control connections refused at connect (421), by reason.",
		}, []string{"reason"}),
		sessionsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_sessions_closed_total", Help: "Control connections ended, by reason (quit, client_closed, idle_timeout, unknown_commands, ...).",
		}, []string{"reason"}),
		dataRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_data_refused_total", Help: "Passive ports, active targets and data connections refused, by reason.",
		}, []string{"reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_logins_total", Help: "Login attempts, by result (ok, failed) and reason (method when ok).",
		}, []string{"result", "reason"}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_tls_handshakes_total", Help: "Completed TLS handshakes, by connection (control, data), version and resumption.",
		}, []string{"connection", "version", "resumed"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_transfer_bytes_total", Help: "Data connection payload bytes, by direction (in: uploads, out: downloads and listings).",
		}, []string{"direction"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_transfers_total", Help: "Data transfers, by command and result (ok, aborted, failed, refused).",
		}, []string{"command", "result"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_replies_total", Help: "Replies sent on control connections, by code.",
		}, []string{"code"}),
		certNotAfter: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ftpsd_certificate_not_after_timestamp_seconds", Help: "NotAfter of the server certificate in force, as a Unix time.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpsd_reloads_total", Help: "Reloads of the mounted files, by file (config, users, certificate) and result (ok, failed).",
		}, []string{"file", "result"}),
		bans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftpsd_bans_total", Help: "Client addresses banned after too many login failures.",
		}),
	}
	m.reg.MustRegister(m.sessionsActive, m.sessionsTotal, m.sessionsRefused, m.sessionsClosed, m.dataRefused, m.logins, m.handshakes,
		m.bytes, m.transfers, m.replies, m.certNotAfter, m.reloads, m.bans,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Zero series that dashboards and alerts expect from the start.
	for _, f := range []string{"config", "users", "certificate"} {
		for _, r := range []string{"ok", "failed"} {
			m.reloads.WithLabelValues(f, r)
		}
	}
	return m
}

// Registry is the registry the collectors live in.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return prometheus.NewRegistry()
	}
	return m.reg
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{})
}

// SessionOpened counts an accepted control connection.
func (m *Metrics) SessionOpened() {
	if m == nil {
		return
	}
	m.sessionsTotal.Inc()
	m.sessionsActive.Inc()
}

// SessionClosed counts the end of a control connection and its reason.
func (m *Metrics) SessionClosed(reason string) {
	if m != nil {
		m.sessionsActive.Dec()
		m.sessionsClosed.WithLabelValues(reason).Inc()
	}
}

// DataRefused counts a passive port, active target or data connection
// refused.
func (m *Metrics) DataRefused(reason string) {
	if m != nil {
		m.dataRefused.WithLabelValues(reason).Inc()
	}
}

// SessionRefused counts a connection refused at connect.
func (m *Metrics) SessionRefused(reason string) {
	if m != nil {
		m.sessionsRefused.WithLabelValues(reason).Inc()
	}
}

// Login counts a login attempt.
func (m *Metrics) Login(ok bool, reason string) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "ok"
	}
	m.logins.WithLabelValues(result, reason).Inc()
}

// Handshake counts a completed TLS handshake.
func (m *Metrics) Handshake(connection string, st tls.ConnectionState) {
	if m != nil {
		m.handshakes.WithLabelValues(connection, tls.VersionName(st.Version), strconv.FormatBool(st.DidResume)).Inc()
	}
}

// Transfer counts a finished transfer and its payload.
func (m *Metrics) Transfer(command, result string, upload bool, n int64) {
	if m == nil {
		return
	}
	m.transfers.WithLabelValues(command, result).Inc()
	dir := "out"
	if upload {
		dir = "in"
	}
	m.bytes.WithLabelValues(dir).Add(float64(n))
}

// Reply counts one reply sent.
func (m *Metrics) Reply(code int) {
	if m != nil {
		m.replies.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

// CertificateNotAfter records the expiry of the certificate in force.
func (m *Metrics) CertificateNotAfter(t time.Time) {
	if m != nil {
		m.certNotAfter.Set(float64(t.Unix()))
	}
}

// Reload counts a reload of file ("config", "users", "certificate").
func (m *Metrics) Reload(file string, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.reloads.WithLabelValues(file, result).Inc()
}

// Ban counts a client address banned.
func (m *Metrics) Ban() {
	if m != nil {
		m.bans.Inc()
	}
}

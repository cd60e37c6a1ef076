package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/metrics"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the JSON log records whose msg is msg.
func (l *logSink) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func debugLogger(sink io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// No password, right or wrong, and no anonymous e-mail ever reaches the
// logs, even at debug level.
func TestSecretsNeverLogged(t *testing.T) {
	sink := &logSink{}
	e := newEnv(t, envOpt{logger: debugLogger(sink), mutate: func(c *config.Config) {
		c.Policy.Authentication.Anonymous.Enabled = true
		c.Limits.MaxLoginFailures = 100
	}})
	const wrong = "Wr0ng-Secret-Guess"
	const email = "someone.secret@example.org"
	c := e.dial(false)
	c.AuthTLS()
	c.Must("USER "+testUser, 331)
	c.Must("PASS "+wrong, 530)
	c.login()
	c.Must("USER anonymous", 331)
	c.Must("PASS "+email, 230)
	c.Must("QUIT", 221)
	c2 := e.dial(false)
	c2.Must("PASS "+wrong, 530) // refused in clear, before USER
	c2.Must("QUIT", 221)
	e.srv.Shutdown(t.Context()) //nolint:errcheck // flush the sessions' last lines
	logs := sink.String()
	if len(sink.records(t, "login")) < 2 {
		t.Fatalf("no login records:\n%s", logs)
	}
	for _, secret := range []string{testPassword, wrong, email} {
		if strings.Contains(logs, secret) {
			t.Fatalf("%q appears in the logs:\n%s", secret, logs)
		}
	}
}

// One transfer-log line per transfer, with its facts, whatever the result.
func TestTransferLog(t *testing.T) {
	sink := &logSink{}
	e := newEnv(t, envOpt{logger: debugLogger(sink)})
	e.writeFile("down", []byte("12345"))
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	_, code, text := c.Transfer("STOR up", []byte("abc"), true)
	mustCode(t, "STOR", code, text, 226)
	_, code, text = c.Transfer("RETR down", nil, true)
	mustCode(t, "RETR", code, text, 226)
	// A data connection that does not resume the control connection's TLS
	// session: 522.
	d := c.DialData(c.EPSV())
	c.Must("RETR down", 150)
	if _, err := c.Wrap(d, e.tlsConfig(0)); err == nil {
		t.Log("the client saw its handshake succeed; the server refuses it after")
	}
	c.Reply(522)
	c.Must("QUIT", 221)
	_ = e.srv.Shutdown(t.Context())

	recs := sink.records(t, "transfer")
	if len(recs) != 3 {
		t.Fatalf("%d transfer records, want 3:\n%s", len(recs), sink.String())
	}
	want := []struct {
		command, path, result string
		bytes                 float64
	}{{"STOR", "/up", "ok", 3}, {"RETR", "/down", "ok", 5}, {"RETR", "/down", "refused", 0}}
	for i, w := range want {
		r := recs[i]
		if r["command"] != w.command || r["path"] != w.path || r["result"] != w.result || r["bytes"] != w.bytes {
			t.Errorf("record %d: %v, want %+v", i, r, w)
		}
		for _, k := range []string{"start", "duration", "client", "user", "protection", "tls"} {
			if _, ok := r[k]; !ok {
				t.Errorf("record %d has no %q: %v", i, k, r)
			}
		}
		if r["user"] != testUser || r["client"] != "127.0.0.1" || r["protection"] != "private" {
			t.Errorf("record %d: %v", i, r)
		}
	}
	if recs[0]["tls"] != "TLS 1.3" {
		t.Errorf("tls: %v", recs[0]["tls"])
	}
}

// The engine's metrics: sessions, logins, handshakes, transfers, bytes,
// replies.
func TestMetrics(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, envOpt{metrics: m, mutate: func(c *config.Config) { c.Limits.MaxLoginFailures = 100 }})
	c := e.dial(false)
	c.AuthTLS()
	c.Must("USER "+testUser, 331)
	c.Must("PASS nope", 530)
	c.login()
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)
	_, code, text := c.Transfer("STOR up", []byte("abcdef"), true)
	mustCode(t, "STOR", code, text, 226)
	c.Must("QUIT", 221)
	_ = e.srv.Shutdown(t.Context())

	expectMetrics(t, m,
		"ftpsd_sessions_total 1",
		"ftpsd_sessions_active 0",
		`ftpsd_logins_total{reason="password",result="ok"} 1`,
		`ftpsd_logins_total{reason="invalid_credentials",result="failed"} 1`,
		`ftpsd_tls_handshakes_total{connection="control",resumed="false",version="TLS 1.3"} 1`,
		`ftpsd_tls_handshakes_total{connection="data",resumed="true",version="TLS 1.3"} 1`,
		`ftpsd_transfers_total{command="STOR",result="ok"} 1`,
		`ftpsd_transfer_bytes_total{direction="in"} 6`,
		`ftpsd_replies_total{code="530"} 1`,
		`ftpsd_replies_total{code="226"} 1`,
	)
}

// Why sessions end, and the data connections, passive ports and active
// targets refused, are counted by reason.
func TestMetricsSessionEndsAndDataRefusals(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, envOpt{metrics: m, mutate: func(c *config.Config) {
		c.Policy.Data.ActiveMode = config.ActiveModeClientAddressOnly
	}})
	e.writeFile("down", []byte("12345"))

	quits := e.dial(false)
	quits.secure()
	quits.Must("QUIT", 221)

	probes := e.dial(false)
	for range maxUnknownCommands - 1 {
		probes.Must("GET / HTTP/1.1", 500)
	}
	probes.Must("GET / HTTP/1.1", 421)

	hangsUp := e.dial(false)
	hangsUp.secure()
	_ = hangsUp.Raw.Close()
	// Counted once the server has seen the close, before Shutdown below.
	waitMetric(t, m, `ftpsd_sessions_closed_total{reason="client_closed"} 1`)

	c := e.dial(false)
	c.secure()
	c.Must("PORT 127,0,0,2,200,0", 504) // another host
	c.Must("PORT 127,0,0,1,0,21", 504)  // a privileged port
	d := c.DialData(c.EPSV())           // a TLS session of its own
	c.Must("RETR down", 150)
	_, _ = c.Wrap(d, e.tlsConfig(0))
	c.Reply(522)
	addr := c.EPSV()
	foreign := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	f, err := foreign.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("cannot dial from 127.0.0.2: %v (the tests need the whole 127.0.0.0/8 on loopback)", err)
	}
	defer func() { _ = f.Close() }()
	d = c.DialData(addr) // queued behind the foreign connection
	c.Must("RETR down", 150)
	tc, err := c.Wrap(d, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(tc); err != nil || string(b) != "12345" {
		t.Fatalf("RETR after a foreign connection: %q %v", b, err)
	}
	c.Reply(226)
	_ = e.srv.Shutdown(t.Context()) // c is still open

	expectMetrics(t, m,
		"ftpsd_sessions_active 0",
		`ftpsd_sessions_closed_total{reason="quit"} 1`,
		`ftpsd_sessions_closed_total{reason="unknown_commands"} 1`,
		`ftpsd_sessions_closed_total{reason="client_closed"} 1`,
		`ftpsd_sessions_closed_total{reason="shutdown"} 1`,
		`ftpsd_data_refused_total{reason="active_foreign_address"} 1`,
		`ftpsd_data_refused_total{reason="active_privileged_port"} 1`,
		`ftpsd_data_refused_total{reason="tls_not_resumed"} 1`,
		`ftpsd_data_refused_total{reason="foreign_address"} 1`,
	)
}

// scrape is m's /metrics page.
func scrape(m *metrics.Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// expectMetrics checks that m's page has every line of want.
func expectMetrics(t *testing.T, m *metrics.Metrics, want ...string) {
	t.Helper()
	body := scrape(m)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}

// waitMetric waits (at most 5 s) until m's page has the line want.
func waitMetric(t *testing.T, m *metrics.Metrics, want string) {
	t.Helper()
	ftptest.Eventually(t, 5*time.Second, 20*time.Millisecond, "metric "+want, func() error {
		if page := scrape(m); !strings.Contains(page, want) {
			return fmt.Errorf("metrics lack %q:\n%s", want, page)
		}
		return nil
	})
}

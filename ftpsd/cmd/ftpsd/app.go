package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/metrics"
	"github.com/ftps-operator/ftps-operator/ftpsd/reload"
	"github.com/ftps-operator/ftps-operator/ftpsd/server"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// app is one ftpsd process: the server, its listeners, the watchers that
// reload its files, and the operations endpoint.
type app struct {
	f   *flags
	set map[string]bool
	log *slog.Logger
	out io.Writer

	metrics *metrics.Metrics
	srv     *server.Server
	certs   *reload.CertificateSource // nil with the in-memory self-signed certificate
	store   *users.Store

	mu  sync.Mutex
	cfg *config.Config // last good configuration (flags applied)

	watchers []*reload.Watcher
	ln, iln  net.Listener // control listeners (iln: implicit, may be nil)
	opsLn    net.Listener // metricsListen, may be nil

	// onReload, when set (tests), is called after each reload attempt.
	onReload func(file string, err error)
}

// newApp reads the configuration and the files it names, builds the server
// and opens the listeners; run serves them.
func newApp(args []string, out, logOut io.Writer) (*app, error) {
	f, set, err := parseFlags(args)
	if err != nil {
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	a := &app{f: f, set: set, log: log, out: out, metrics: metrics.New()}

	demo := f.config == "" && f.usersFile == ""
	var cfg *config.Config
	var cfgWatch *reload.Watcher
	if f.config != "" {
		// The watcher first, so that a change during the first load is seen.
		if cfgWatch, err = a.newWatcher([]string{f.config}, "config", a.reloadConfig); err != nil {
			return nil, err
		}
		if cfg, err = config.Load(f.config); err != nil {
			return nil, err
		}
	} else {
		cfg = config.Default()
		if demo {
			cfg.Listen = "127.0.0.1:2121"
			cfg.Root = "./ftp-data"
			cfg.MetricsListen = ""
		}
	}
	applyFlags(cfg, f, set)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a.cfg = cfg

	if cfg.TLS.CertFile != "" {
		a.certs, err = reload.NewCertificateSource(cfg.TLS.CertFile, cfg.TLS.KeyFile,
			reload.WithPollInterval(f.reloadInterval),
			reload.WithErrorHandler(func(err error) { a.reloaded("certificate", err) }),
			reload.WithCertificateCallback(func(c *reload.CertificateSource) {
				leaf := c.Leaf()
				a.metrics.CertificateNotAfter(leaf.NotAfter)
				a.log.Info("certificate loaded", "serial", leaf.SerialNumber.String(), "notAfter", leaf.NotAfter.UTC().Format(time.RFC3339))
				a.reloaded("certificate", nil)
			}))
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		w, err := a.certs.NewWatcher()
		if err != nil {
			return nil, err
		}
		a.watchers = append(a.watchers, w)
	}
	tlsConf, err := loadTLS(cfg, a.certs, out)
	if err != nil {
		return nil, err
	}
	if a.certs == nil {
		if len(tlsConf.Certificates) > 0 && tlsConf.Certificates[0].Leaf != nil {
			a.metrics.CertificateNotAfter(tlsConf.Certificates[0].Leaf.NotAfter)
		}
	}

	if demo {
		if a.store, err = demoUsers(out); err != nil {
			return nil, err
		}
	} else {
		usersFile := cfg.UsersFile
		w, err := a.newWatcher([]string{usersFile}, "users", func() error {
			if err := reload.UsersFileLoader(usersFile, a.store)(); err != nil {
				return err
			}
			a.log.Info("users loaded", "file", usersFile, "users", a.store.Current().Len())
			a.reloaded("users", nil)
			return nil
		})
		if err != nil {
			return nil, err
		}
		db, err := users.LoadFile(usersFile)
		if err != nil {
			return nil, err
		}
		a.store = users.NewStore(db)
		a.watchers = append(a.watchers, w)
	}
	a.store.SetCredentialCache(cfg.CredentialCacheEnabled())
	if cfgWatch != nil {
		a.watchers = append(a.watchers, cfgWatch)
	}

	ordinal := -1
	if pod := os.Getenv("POD_NAME"); pod != "" {
		if n, ok := config.OrdinalFromPodName(pod); ok {
			ordinal = n
		}
	}
	a.srv, err = server.New(cfg, server.Options{TLSConfig: tlsConf, Users: a.store, Logger: log, Ordinal: ordinal, Metrics: a.metrics})
	if err != nil {
		return nil, err
	}
	if err := a.listen(cfg); err != nil {
		return nil, err
	}
	if demo {
		fmt.Fprintf(out, "ftpsd demo: serving %s on %s (explicit FTPS, AUTH TLS)\n", cfg.Root, a.ln.Addr())
		fmt.Fprintf(out, "  try: curl --ssl-reqd -k -u demo:PASSWORD ftp://%s/\n", a.ln.Addr())
	}
	return a, nil
}

// newWatcher makes a Watcher whose failures are logged and counted.
func (a *app) newWatcher(paths []string, file string, onChange func() error) (*reload.Watcher, error) {
	return reload.NewWatcher(paths, onChange,
		reload.WithPollInterval(a.f.reloadInterval),
		reload.WithErrorHandler(func(err error) { a.reloaded(file, err) }))
}

// reloaded logs and counts one reload attempt of file.
func (a *app) reloaded(file string, err error) {
	a.metrics.Reload(file, err)
	if err != nil {
		a.log.Error("reload failed; the last good version stays in force", "file", file, "error", err)
	}
	if a.onReload != nil {
		a.onReload(file, err)
	}
}

// reloadConfig reads the config file again and, when it is valid, gives it
// to new sessions. Fields that need a restart keep their old value in the
// running process, and a warning says so.
func (a *app) reloadConfig() error {
	cfg, err := config.Load(a.f.config)
	if err != nil {
		return err
	}
	applyFlags(cfg, a.f, a.set)
	if err := cfg.Validate(); err != nil {
		return err
	}
	a.mu.Lock()
	old := a.cfg
	a.mu.Unlock()
	if fields := config.RestartNeeded(old, cfg); len(fields) > 0 {
		a.log.Warn("config changes that need a restart are not applied until ftpsd restarts", "fields", fields)
	}
	if a.srv != nil {
		if err := a.srv.SetConfig(cfg); err != nil {
			return err
		}
	}
	if a.store != nil {
		a.store.SetCredentialCache(cfg.CredentialCacheEnabled())
	}
	a.mu.Lock()
	a.cfg = cfg
	a.mu.Unlock()
	a.log.Info("config loaded", "file", a.f.config)
	a.reloaded("config", nil)
	return nil
}

// reloadNow asks every watcher to look at its files (SIGHUP).
func (a *app) reloadNow() {
	for _, w := range a.watchers {
		w.Trigger()
	}
}

// listen opens the control listeners and the operations listener.
func (a *app) listen(cfg *config.Config) error {
	var err error
	if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.ImplicitListen != "" {
		if a.iln, err = net.Listen("tcp", cfg.ImplicitListen); err != nil {
			_ = a.ln.Close()
			return fmt.Errorf("implicitListen: %w", err)
		}
	}
	if cfg.MetricsListen != "" {
		if a.opsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			_ = a.ln.Close()
			if a.iln != nil {
				_ = a.iln.Close()
			}
			return fmt.Errorf("metricsListen: %w", err)
		}
	}
	return nil
}

// opsHandler serves /metrics, /healthz and /readyz.
func (a *app) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.metrics.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := a.ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// ready: the listeners accept, a certificate is loaded, and no drain has begun.
func (a *app) ready() error {
	switch {
	case a.srv.Draining():
		return errors.New("draining")
	case !a.srv.Ready():
		return errors.New("listeners not accepting")
	case a.certs != nil && a.certs.Leaf() == nil:
		return errors.New("no certificate loaded")
	}
	return nil
}

// run serves until ctx ends (SIGTERM), then drains: the listeners close and
// /readyz turns unready at once, idle sessions get 421, running transfers
// have the grace period to finish.
func (a *app) run(ctx context.Context) error {
	wctx, stopWatchers := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stopWatchers(); wg.Wait() }()
	for _, w := range a.watchers {
		wg.Go(func() { _ = w.Start(wctx) })
	}
	var ops *http.Server
	if a.opsLn != nil {
		ops = &http.Server{Handler: a.opsHandler(), ReadHeaderTimeout: 10 * time.Second}
		a.log.Info("operations endpoint listening", "address", a.opsLn.Addr().String())
		wg.Go(func() { _ = ops.Serve(a.opsLn) })
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = ops.Shutdown(sctx)
		}()
	}
	n := 1
	errc := make(chan error, 2)
	go func() { errc <- a.srv.Serve(a.ln, false) }()
	if a.iln != nil {
		n++
		go func() { errc <- a.srv.Serve(a.iln, true) }()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
		n--
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "gracePeriod", a.f.gracePeriod.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.f.gracePeriod)
	defer cancel()
	if err := a.srv.Shutdown(sctx); err != nil {
		a.log.Warn("grace period over; sessions with running transfers were closed", "error", err)
	}
	for range n {
		if err := <-errc; serveErr == nil || errors.Is(serveErr, server.ErrServerClosed) {
			serveErr = err
		}
	}
	if serveErr != nil && !errors.Is(serveErr, server.ErrServerClosed) {
		return serveErr
	}
	a.log.Info("stopped")
	return nil
}

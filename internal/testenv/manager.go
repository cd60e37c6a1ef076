package testenv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ftps-operator/ftps-operator/controllers"
)

// ManagerOptions are a test manager's settings.
type ManagerOptions struct {
	// Scheme is the manager's (nil: Scheme()).
	Scheme *apiruntime.Scheme
	// Cache is the manager's cache (controllers.CacheOptions(...), say).
	Cache cache.Options
	// SkipNameValidation lets one process run several managers in turn
	// (their controllers have the same names).
	SkipNameValidation bool
	// Controllers configure controllers.Setup.
	Controllers controllers.Options
}

// Manager is a running manager with the real reconcilers.
type Manager struct {
	ctrl.Manager
	cancel context.CancelFunc
	done   chan error
}

// StartManager runs a manager as main.go does (controllers.Setup), without
// its metrics and health endpoints and with its log discarded, until ctx
// ends or Stop.
func StartManager(ctx context.Context, cfg *rest.Config, o ManagerOptions) (*Manager, error) {
	scheme := o.Scheme
	if scheme == nil {
		scheme = Scheme()
	}
	opts := ctrl.Options{
		Scheme:                 scheme,
		Cache:                  o.Cache,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Logger:                 logr.Discard(),
	}
	if o.SkipNameValidation {
		opts.Controller = config.Controller{SkipNameValidation: new(true)}
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := controllers.Setup(ctx, mgr, o.Controllers); err != nil {
		cancel()
		return nil, err
	}
	m := &Manager{Manager: mgr, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	return m, nil
}

// Done receives what the manager's Start returned, once it has.
func (m *Manager) Done() <-chan error { return m.done }

// ErrStopTimeout: the manager did not return within Stop's timeout.
var ErrStopTimeout = errors.New("the manager did not stop in time")

// Stop cancels the manager's context and waits at most timeout for it to
// return; it returns the manager's error. Only the first call waits.
func (m *Manager) Stop(timeout time.Duration) error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	m.cancel = nil
	select {
	case err := <-m.done:
		if err != nil {
			return fmt.Errorf("manager: %w", err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%w (%s)", ErrStopTimeout, timeout)
	}
}

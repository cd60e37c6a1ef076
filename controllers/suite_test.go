package controllers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/controllers"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// The whole package shares one API server and one manager running the real
// reconcilers; each test works in a namespace of its own.
var (
	k8s     client.Client
	testCfg *rest.Config
	testCtx context.Context
	// testClock is the reconcilers' clock: tests step it to reach a
	// certificate's renewal time.
	testClock = clocktesting.NewFakeClock(time.Now())
)

const testImage = "example.com/ftpsd:test"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	testenv.SetLogger()

	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	var cancel context.CancelFunc
	testCtx, cancel = context.WithCancel(context.Background())
	defer cancel()

	mgr, err := testenv.StartManager(testCtx, env.Config, testenv.ManagerOptions{
		Scheme:      env.Scheme,
		Cache:       controllers.CacheOptions(),
		Controllers: controllers.Options{DefaultImage: testImage, Clock: testClock},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	k8s, testCfg = env.Client, env.Config
	code := m.Run()
	if err := mgr.Stop(time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

// namespace makes a fresh namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := k8s.Create(testCtx, ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

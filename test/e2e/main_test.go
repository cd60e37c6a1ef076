// Package e2e drives the whole stack (test/stack) with real FTPS clients:
// a real API server, kube-controller-manager, cert-manager's controllers,
// the operator, and ftpsd processes standing in for the Pods.
package e2e

import (
	"os"
	"testing"

	"github.com/ftps-operator/ftps-operator/test/stack"
)

// st is the stack every test of this package shares.
var st *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(stack.RunTests(m.Run, false, func(s *stack.Stack) { st = s }))
}

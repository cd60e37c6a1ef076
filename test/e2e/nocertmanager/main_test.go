// Package nocertmanager runs the whole stack on a cluster without
// cert-manager: servers that name an issuer say so in their status, and
// servers with a brought Secret or the operator's self-signed certificate
// serve FTPS.
package nocertmanager

import (
	"os"
	"testing"

	"github.com/ftps-operator/ftps-operator/test/stack"
)

var st *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(stack.RunTests(m.Run, true, func(s *stack.Stack) { st = s }))
}

// Package e2e drives the whole stack (test/stack) with real FTPS clients.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
	"github.com/ftps-operator/ftps-operator/test/stack"
)

// st is the stack every test of this package shares.
var st *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ftps-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bins := map[string]string{
		"manager": ".",
		"ftpsd":   "./ftpsd/cmd/ftpsd",
	}
	for name, pkg := range bins {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = testenv.RepoRoot(), os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", name+":", err)
			return 1
		}
	}
	st, err = stack.Start(stack.Options{
		Dir:     dir,
		Manager: filepath.Join(dir, "manager"),
		Ftpsd:   filepath.Join(dir, "ftpsd"),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the stack:", err)
		return 1
	}
	code := m.Run()
	if err := st.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the stack:", err)
	}
	if code == 0 {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "logs kept in", dir)
	}
	return code
}

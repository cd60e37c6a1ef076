package stack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// BuildBinaries builds the operator and ftpsd into dir and returns Options
// that run them with dir as the stack's folder.
func BuildBinaries(dir string) (Options, error) {
	opts := Options{Dir: dir, Manager: filepath.Join(dir, "manager"), Ftpsd: filepath.Join(dir, "ftpsd")}
	for out, pkg := range map[string]string{opts.Manager: ".", opts.Ftpsd: "./ftpsd/cmd/ftpsd"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = testenv.RepoRoot(), os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return opts, fmt.Errorf("building %s: %w", pkg, err)
		}
	}
	return opts, nil
}

// RunTests is a TestMain for end-to-end packages: it builds the binaries,
// starts one stack for the package's tests, and stops it afterwards,
// keeping its folder (logs, volumes) when a test failed.
func RunTests(run func() int, withoutCertManager bool, started func(*Stack)) int {
	dir, err := os.MkdirTemp("", "ftps-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts, err := BuildBinaries(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts.WithoutCertManager = withoutCertManager
	s, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the stack:", err)
		return 1
	}
	started(s)
	code := run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the stack:", err)
	}
	if code == 0 {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "the stack's logs and volumes are kept in", dir)
	}
	return code
}

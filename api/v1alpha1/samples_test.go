package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// Every manifest in config/samples is accepted by the API server as written.
func TestSamplesAreAccepted(t *testing.T) {
	files, err := testenv.SampleFiles()
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeAll(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, obj := range objs {
			obj.SetNamespace(ns)
			if err := env.Client.Create(context.Background(), obj, strict); err != nil {
				t.Errorf("%s: %s %s refused: %v", filepath.Base(f), obj.GetKind(), obj.GetName(), err)
				continue
			}
			kinds[obj.GetKind()]++
		}
	}
	for _, kind := range []string{"FTPSServer", "FTPSPolicy", "FTPSUser", "Issuer", "Certificate", "Secret"} {
		if kinds[kind] == 0 {
			t.Errorf("config/samples has no %s that was accepted (accepted: %v)", kind, kinds)
		}
	}
	if t.Failed() {
		t.Logf("samples: %s", strings.Join(files, ", "))
	}
}

package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// TestImages builds both images the way `make image` does, from freshly built
// static binaries, then opens what was written (the OCI layout and the
// tarball) and checks what a runtime would use: entrypoint, user,
// architecture, media types and the files.
func TestImages(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct{ pkg, entrypoint, tag string }{
		{".", "/manager", "ghcr.io/ftps-operator/ftps-operator:v0.0.0-test"},
		{"./ftpsd/cmd/ftpsd", "/ftpsd", "ghcr.io/ftps-operator/ftpsd:v0.0.0-test"},
	} {
		t.Run(filepath.Base(c.entrypoint), func(t *testing.T) {
			bin := filepath.Join(tmp, filepath.Base(c.entrypoint))
			build := exec.Command("go", "build", "-trimpath", "-o", bin, c.pkg)
			build.Dir = testenv.RepoRoot()
			build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build %s: %v\n%s", c.pkg, err, out)
			}
			out := filepath.Join(tmp, "image-"+filepath.Base(c.entrypoint))
			spec := Spec{Binary: bin, Entrypoint: c.entrypoint, CARoots: "/etc/ssl/certs/ca-certificates.crt",
				Tag: c.tag, Arch: runtime.GOARCH}
			if err := run(spec, out); err != nil {
				t.Fatal(err)
			}
			img := fromLayout(t, out, c.tag)
			checkImage(t, img, spec)

			// The tarball holds the same image under the tag: the same config
			// and layers (docker load's format stores no manifest media type,
			// so the manifest digest itself differs).
			ref, err := name.NewTag(c.tag)
			if err != nil {
				t.Fatal(err)
			}
			fromTar, err := tarball.ImageFromPath(out+".tar", &ref)
			if err != nil {
				t.Fatal(err)
			}
			c1, _ := img.ConfigName()
			c2, err := fromTar.ConfigName()
			if err != nil || c1 != c2 {
				t.Errorf("tarball config %v (%v), layout config %v", c2, err, c1)
			}
			checkImage(t, fromTar, spec)

			// Building again gives the same digest: the image is reproducible.
			again, err := Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			d1, _ := img.Digest()
			if d3, _ := again.Digest(); d3 != d1 {
				t.Errorf("rebuild digest %v, first %v", d3, d1)
			}
		})
	}
}

func fromLayout(t *testing.T, dir, tag string) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("layout holds %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != tag {
		t.Errorf("ref.name annotation %q, want %q", got, tag)
	}
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want an OCI manifest", desc.MediaType)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if mt, _ := l.MediaType(); mt != types.OCILayer {
			t.Errorf("layer media type %s, want an OCI layer", mt)
		}
	}
	return img
}

func checkImage(t *testing.T, img v1.Image, spec Spec) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != spec.Arch {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, spec.Arch)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", cf.Config.User)
	}
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != spec.Entrypoint {
		t.Errorf("entrypoint %q, want [%s]", cf.Config.Entrypoint, spec.Entrypoint)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1 on scratch", len(layers), err)
	}

	files := map[string]*tar.Header{}
	var entry []byte
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files["/"+strings.TrimSuffix(h.Name, "/")] = h
		if "/"+h.Name == spec.Entrypoint {
			if entry, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, err := os.ReadFile(spec.Binary)
	if err != nil {
		t.Fatal(err)
	}
	if h := files[spec.Entrypoint]; h == nil || h.Mode&0o111 == 0 || !bytes.Equal(entry, want) {
		t.Errorf("%s missing, not executable or not the built binary", spec.Entrypoint)
	}
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/ssl/certs/ca-certificates.crt", "/tmp"} {
		if files[f] == nil {
			t.Errorf("%s missing", f)
		}
	}
	for _, f := range []string{"/bin/sh", "/bin", "/usr"} {
		if files[f] != nil {
			t.Errorf("%s present: the image must hold no shell or system tree", f)
		}
	}
}

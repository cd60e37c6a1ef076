// Command image builds the project's OCI images without a container engine:
// a scratch base plus one layer holding a static binary, the CA roots and a
// passwd entry for the non-root user 65532. `make image` builds two images,
// the manager and ftpsd, each written as an OCI layout folder and as a
// tarball that `docker load` and `podman load` accept.
//
//	go run ./hack/image -binary bin/linux_amd64/ftpsd -entrypoint /ftpsd \
//	    -tag ghcr.io/ftps-operator/ftpsd:v0.1.0 -out bin/image/ftpsd
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the non-root identity every image runs as (distroless' nonroot).
const User = "65532:65532"

// Spec says what goes into one image.
type Spec struct {
	Binary     string // host path of a static linux binary
	Entrypoint string // where it lands in the image, e.g. /ftpsd
	CARoots    string // host path of a PEM bundle of CA roots
	Tag        string // e.g. ghcr.io/ftps-operator/ftpsd:v0.1.0
	Arch       string // GOARCH of the binary
	Created    time.Time
	Labels     map[string]string
}

func main() {
	var s Spec
	var out string
	var epoch int64
	flag.StringVar(&s.Binary, "binary", "", "static linux binary to put in the image")
	flag.StringVar(&s.Entrypoint, "entrypoint", "", "its path in the image (the entrypoint)")
	flag.StringVar(&s.CARoots, "ca-roots", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA roots")
	flag.StringVar(&s.Tag, "tag", "", "image reference recorded in the OCI layout and the tarball")
	flag.StringVar(&s.Arch, "arch", "amd64", "architecture of the binary (GOARCH)")
	flag.Int64Var(&epoch, "created", 0, "creation time, seconds since 1970 (SOURCE_DATE_EPOCH); 0 keeps builds reproducible")
	flag.StringVar(&out, "out", "", "output: OUT/ (OCI layout) and OUT.tar (tarball)")
	flag.Parse()
	s.Created = time.Unix(epoch, 0).UTC()
	if err := run(s, out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(s Spec, out string) error {
	if out == "" || s.Binary == "" || s.Entrypoint == "" || s.Tag == "" {
		return errors.New("-binary, -entrypoint, -tag and -out are required")
	}
	img, err := Build(s)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(s.Tag)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.String(),
	})); err != nil {
		return err
	}
	if err := tarball.WriteToFile(out+".tar", ref, img); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s -> %s, %s.tar\n", ref, d, out, out)
	return nil
}

// Build returns the image of s.
func Build(s Spec) (v1.Image, error) {
	bin, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		return nil, fmt.Errorf("%s is not an ELF binary", s.Binary)
	}
	roots, err := os.ReadFile(s.CARoots)
	if err != nil {
		return nil, fmt.Errorf("CA roots: %w (Debian: apt-get install ca-certificates)", err)
	}
	if !bytes.Contains(roots, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("%s holds no PEM certificate", s.CARoots)
	}
	layerTar, err := rootfs(s, bin, roots)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.Arch
	cf.Created = v1.Time{Time: s.Created}
	cf.Config.User = User
	cf.Config.Entrypoint = []string{s.Entrypoint}
	cf.Config.Cmd = nil
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cf.Config.Labels = s.Labels
	return mutate.ConfigFile(img, cf)
}

// rootfs is the one layer: the binary, CA roots, passwd and group files, and
// a /tmp owned by the user (nothing else: no shell, no package manager).
func rootfs(s Spec, bin, roots []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := s.Created
	dirs := map[string]bool{}
	addDirs := func(p string) error {
		var parents []string
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/",
				Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
		return nil
	}
	file := func(p string, mode int64, data []byte) error {
		if err := addDirs(p); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"),
			Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := file("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")); err != nil {
		return nil, err
	}
	if err := file("/etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")); err != nil {
		return nil, err
	}
	if err := file("/etc/ssl/certs/ca-certificates.crt", 0o644, roots); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mtime,
		Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/", Mode: 0o755, ModTime: mtime,
		Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/nonroot/", Mode: 0o700,
		Uid: 65532, Gid: 65532, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if err := file(s.Entrypoint, 0o755, bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

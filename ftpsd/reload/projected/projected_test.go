package projected

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readKey(t *testing.T, dir, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func versions(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var v []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") && e.Name() != dataDirName {
			v = append(v, e.Name())
		}
	}
	return v
}

func TestWriteLayoutAndSwap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if err := Write(dir, map[string][]byte{"tls.crt": []byte("cert 1"), "tls.key": []byte("key 1"), "sub/x": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	first, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil || !strings.HasPrefix(first, "..") {
		t.Fatalf("..data -> %q, %v", first, err)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "tls.crt")); target != filepath.Join(dataDirName, "tls.crt") {
		t.Errorf("tls.crt -> %q", target)
	}
	if readKey(t, dir, "tls.crt") != "cert 1" || readKey(t, dir, "sub/x") != "x" {
		t.Error("wrong content")
	}

	if err := Write(dir, map[string][]byte{"tls.crt": []byte("cert 2"), "ca.crt": []byte("ca")}); err != nil {
		t.Fatal(err)
	}
	second, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if second == first {
		t.Error("..data did not move to a new version")
	}
	if v := versions(t, dir); len(v) != 1 || v[0] != second {
		t.Errorf("version folders %v, want only %s", v, second)
	}
	if readKey(t, dir, "tls.crt") != "cert 2" || readKey(t, dir, "ca.crt") != "ca" {
		t.Error("wrong content after swap")
	}
	for _, gone := range []string{"tls.key", "sub", newDataDirName} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", gone, err)
		}
	}
}

func TestWriteRefusesBadKeys(t *testing.T) {
	for _, key := range []string{"", "/abs", "..data", "../x", "a/../b", ".hidden", "a//b"} {
		if err := Write(t.TempDir(), map[string][]byte{key: nil}); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

func TestHashPassword(t *testing.T) {
	var out bytes.Buffer
	if err := hashPassword(strings.NewReader("s3cret\n"), &out); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret")); err != nil {
		t.Fatalf("hash %q does not verify: %v", h, err)
	}
	if err := hashPassword(strings.NewReader("\n"), &out); err == nil {
		t.Fatal("an empty password was hashed")
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--config", "/nonexistent/ftpsd.yaml"},
		{"--passive-ports", "banana"},
		{"--log-level", "loud"},
		{"extra"},
	} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func TestBoolFlagsOverrideConfig(t *testing.T) {
	f, set, err := parseFlags([]string{"--credential-cache=false", "--sync-uploads=false"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	if !cfg.CredentialCacheEnabled() || !cfg.SyncUploadsEnabled() {
		t.Fatal("the defaults must be on")
	}
	applyFlags(cfg, f, set)
	if cfg.CredentialCacheEnabled() || cfg.SyncUploadsEnabled() {
		t.Fatalf("flags not applied: credentialCache %v, syncUploads %v", *cfg.CredentialCache, *cfg.SyncUploads)
	}
	f, set, _ = parseFlags(nil)
	cfg = config.Default()
	off := false
	cfg.CredentialCache = &off
	applyFlags(cfg, f, set)
	if cfg.CredentialCacheEnabled() {
		t.Fatal("an unset flag overrode the config file")
	}
}

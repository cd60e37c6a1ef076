package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
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

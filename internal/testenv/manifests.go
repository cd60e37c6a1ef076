package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DecodeManifests reads every YAML document of a manifest as kubectl sends
// it: unstructured, with nothing filled in by Go types.
func DecodeManifests(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// SampleFiles lists config/samples/*.yaml, less the kustomization.
func SampleFiles() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil {
		return nil, err
	}
	out := files[:0]
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			out = append(out, f)
		}
	}
	return out, nil
}

// ApplyFile server-side applies every object of a manifest file into ns, as
// `kubectl apply --server-side` does, with strict field validation.
func ApplyFile(ctx context.Context, c client.Client, ns, path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	objs, err := DecodeManifests(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, obj := range objs {
		obj.SetNamespace(ns)
		//nolint:staticcheck // client.Apply with unstructured objects is what kubectl does.
		if err := c.Patch(ctx, obj, client.Apply, client.FieldOwner("kubectl"), client.ForceOwnership,
			client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", filepath.Base(path), obj.GetKind(), obj.GetName(), err)
		}
	}
	return objs, nil
}

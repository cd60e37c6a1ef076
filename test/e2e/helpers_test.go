package e2e

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

func applyFile(ctx context.Context, ns, path string) ([]*unstructured.Unstructured, error) {
	return testenv.ApplyFile(ctx, st.Client, ns, path)
}

package controllers_test

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// restartHash is the restart-hash annotation of the server's pod template.
func restartHash(ns, name string) (string, error) {
	sts := &appsv1.StatefulSet{}
	if err := get(ns, name, sts); err != nil {
		return "", err
	}
	h := sts.Spec.Template.Annotations[render.AnnotationRestartHash]
	if h == "" {
		return "", fmt.Errorf("no %s on the pod template", render.AnnotationRestartHash)
	}
	return h, nil
}

// ftpsd reads the client CA bundle only when it starts: a new bundle in the
// Secret changes the pod template's restart hash, so the pods roll.
func TestClientCAChangeRollsPods(t *testing.T) {
	ns := namespace(t)
	ca := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "partner-ca"},
		Data:       map[string][]byte{"ca.crt": []byte("bundle 1"), "notes": []byte("a")},
	}
	create(t, ca)
	srv := sampleServer(ns, "mtls")
	srv.Spec.TLS.ClientCA = &v1alpha1.ClientCASource{SecretName: "partner-ca"}
	create(t, srv)

	var first string
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "the pod template's restart hash", func() error {
		var err error
		first, err = restartHash(ns, "mtls")
		return err
	})

	update := func(key, value string) {
		t.Helper()
		cur := &corev1.Secret{}
		if err := get(ns, "partner-ca", cur); err != nil {
			t.Fatal(err)
		}
		cur.Data[key] = []byte(value)
		if err := k8s.Update(testCtx, cur); err != nil {
			t.Fatal(err)
		}
	}
	update("ca.crt", "bundle 2")
	var second string
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "a new restart hash after the client CA changed", func() error {
		var err error
		if second, err = restartHash(ns, "mtls"); err != nil {
			return err
		}
		if second == first {
			return fmt.Errorf("restart hash still %s", first)
		}
		return nil
	})

	// The hash follows the bundle's content alone: back to the first
	// bundle (with another key changed too), back to the first hash.
	update("notes", "b")
	update("ca.crt", "bundle 1")
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "the first restart hash again with the first bundle", func() error {
		h, err := restartHash(ns, "mtls")
		if err != nil {
			return err
		}
		if h != first {
			return fmt.Errorf("restart hash %s, want %s", h, first)
		}
		return nil
	})
}

package controllers_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// serverEvents maps the reason of each event about server name to its type.
func serverEvents(ns, name string) (map[string]string, error) {
	var list eventsv1.EventList
	if err := k8s.List(testCtx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind == "FTPSServer" && e.Regarding.Name == name {
			out[e.Reason] = e.Type
		}
	}
	return out, nil
}

// wantEvent waits for an event of the given reason and type about server name.
func wantEvent(t *testing.T, ns, name, reason, typ string) map[string]string {
	t.Helper()
	var got map[string]string
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, reason+" event", func() error {
		var err error
		if got, err = serverEvents(ns, name); err != nil {
			return err
		}
		if got[reason] != typ {
			return fmt.Errorf("events %v, want %s %s", got, typ, reason)
		}
		return nil
	})
	return got
}

func poke(t *testing.T, ns, name string) {
	t.Helper()
	cur := &v1alpha1.FTPSServer{}
	if err := get(ns, name, cur); err != nil {
		t.Fatal(err)
	}
	base := cur.DeepCopy()
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations["test/poke"] = time.Now().String()
	if err := k8s.Patch(testCtx, cur, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}

func tlsSerial(ns, name string) (string, error) {
	s := &corev1.Secret{}
	if err := get(ns, name, s); err != nil {
		return "", err
	}
	cert, err := render.LeafCertificate(s)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", cert.SerialNumber), nil
}

func certCondition(ns, name string) (*v1alpha1.FTPSServer, *metav1.Condition, error) {
	cur := &v1alpha1.FTPSServer{}
	if err := get(ns, name, cur); err != nil {
		return nil, nil, err
	}
	c, err := condition(cur.Status.Conditions, "CertificateReady")
	return cur, c, err
}

// TestSelfSignedRenewal steps the operator's clock to the self-signed
// certificate's renewal time: a new certificate replaces it, the status
// follows, and the pods do not roll (ftpsd reloads the files).
func TestSelfSignedRenewal(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "renew")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.PolicyRef = nil
	create(t, srv)

	var serial, hash string
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "first certificate", func() error {
		var err error
		if serial, err = tlsSerial(ns, "renew-tls"); err != nil {
			return err
		}
		sts := &appsv1.StatefulSet{}
		if err := get(ns, "renew", sts); err != nil {
			return err
		}
		hash = sts.Spec.Template.Annotations[render.AnnotationRestartHash]
		return nil
	})

	testClock.Step(2160*time.Hour - 720*time.Hour + time.Minute)
	poke(t, ns, "renew")
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "renewed certificate", func() error {
		got, err := tlsSerial(ns, "renew-tls")
		if err != nil {
			return err
		}
		if got == serial {
			return errors.New("same certificate")
		}
		cur, c, err := certCondition(ns, "renew")
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionTrue || cur.Status.Certificate == nil || cur.Status.Certificate.SerialNumber != got {
			return fmt.Errorf("status %+v, condition %s", cur.Status.Certificate, c.Status)
		}
		return nil
	})
	sts := &appsv1.StatefulSet{}
	if err := get(ns, "renew", sts); err != nil {
		t.Fatal(err)
	}
	if got := sts.Spec.Template.Annotations[render.AnnotationRestartHash]; got != hash {
		t.Errorf("a certificate renewal rolled the pods: %s -> %s", hash, got)
	}
}

// TestBroughtSecret: spec.tls.secretName names a Secret the user manages;
// the pods mount it, and CertificateReady follows its existence. Events
// report the missing Secret (a problem) and its arrival (a change), not the
// first "under way" values of Ready.
func TestBroughtSecret(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "byo")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.TLS.SecretName = "my-cert"
	srv.Spec.PolicyRef = nil
	create(t, srv)
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "SecretNotFound", func() error {
		_, c, err := certCondition(ns, "byo")
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionFalse || c.Reason != "SecretNotFound" {
			return fmt.Errorf("CertificateReady %s/%s", c.Status, c.Reason)
		}
		return nil
	})
	sts := &appsv1.StatefulSet{}
	if err := get(ns, "byo", sts); err != nil {
		t.Fatal(err)
	}
	mounted := false
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "my-cert" {
			mounted = true
		}
	}
	if !mounted {
		t.Error("the brought Secret is not mounted")
	}

	made, err := render.SelfSignedSecret(srv, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	made.Name, made.Namespace, made.Annotations, made.Labels = "my-cert", ns, nil, nil
	create(t, made)
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "SecretProvided", func() error {
		cur, c, err := certCondition(ns, "byo")
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionTrue || c.Reason != "SecretProvided" || cur.Status.Certificate == nil || cur.Status.Certificate.SecretName != "my-cert" {
			return fmt.Errorf("CertificateReady %s/%s, certificate %+v", c.Status, c.Reason, cur.Status.Certificate)
		}
		return nil
	})
	wantEvent(t, ns, "byo", "SecretNotFound", corev1.EventTypeWarning)
	events := wantEvent(t, ns, "byo", "SecretProvided", corev1.EventTypeNormal)
	// Ready's first value, False/CertificateNotReady, came before both.
	if typ, ok := events["CertificateNotReady"]; ok {
		t.Errorf("a %s event for Ready's first value, under way: %v", typ, events)
	}
}

package v1alpha1_test

import (
	"context"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// Every <Field>OrDefault accessor of an empty object returns what the API
// server fills in for that field: the Default* constants and the schema's
// default markers agree. A new accessor in defaults.go needs a row here.
func TestDefaultAccessorsMatchSchema(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()

	srv := &v1alpha1.FTPSServer{ObjectMeta: metav1.ObjectMeta{Name: "accessors", Namespace: ns},
		// issuerRef and clientCA are optional pointers: set their required
		// fields so that the server defaults the rest.
		Spec: v1alpha1.FTPSServerSpec{TLS: v1alpha1.ServerTLS{
			IssuerRef: &v1alpha1.IssuerReference{Name: "ca"},
			ClientCA:  &v1alpha1.ClientCASource{SecretName: "ca"},
		}}}
	if err := env.Client.Create(ctx, srv); err != nil {
		t.Fatalf("create FTPSServer: %v", err)
	}
	got := &v1alpha1.FTPSServer{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(srv), got); err != nil {
		t.Fatal(err)
	}
	usr := &v1alpha1.FTPSUser{ObjectMeta: metav1.ObjectMeta{Name: "accessors", Namespace: ns},
		Spec: v1alpha1.FTPSUserSpec{ServerRef: v1alpha1.LocalObjectReference{Name: "s"}, Username: "bob",
			PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: "bob"}}}
	if err := env.Client.Create(ctx, usr); err != nil {
		t.Fatalf("create FTPSUser: %v", err)
	}
	gotUser := &v1alpha1.FTPSUser{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(usr), gotUser); err != nil {
		t.Fatal(err)
	}

	// empty is an object that never went through the API server.
	empty := &v1alpha1.FTPSServer{}
	emptyUser := &v1alpha1.FTPSUser{}
	s, e := &got.Spec, &empty.Spec
	// Each row: the accessor of the empty object, and the field as the API
	// server filled it in. Keep one row per accessor of defaults.go.
	rows := []struct {
		name         string
		accessor, fi any
	}{
		{"FTPSServerSpec.ReplicasOrDefault", e.ReplicasOrDefault(), *s.Replicas},
		{"ServerTLS.DurationOrDefault", e.TLS.DurationOrDefault(), s.TLS.Duration.Duration},
		{"IssuerReference.KindOrDefault", e.TLS.IssuerRef.KindOrDefault(), s.TLS.IssuerRef.Kind},
		{"IssuerReference.GroupOrDefault", e.TLS.IssuerRef.GroupOrDefault(), s.TLS.IssuerRef.Group},
		{"PrivateKey.AlgorithmOrDefault", e.TLS.PrivateKey.AlgorithmOrDefault(), s.TLS.PrivateKey.Algorithm},
		{"ClientCASource.KeyOrDefault", e.TLS.ClientCA.KeyOrDefault(), s.TLS.ClientCA.Key},
		{"ServerPorts.ControlOrDefault", e.Ports.ControlOrDefault(), s.Ports.Control},
		{"ServiceSpec.TypeOrDefault", e.Service.TypeOrDefault(), s.Service.Type},
		{"ServiceSpec.ExternalTrafficPolicyOrDefault", e.Service.ExternalTrafficPolicyOrDefault(), s.Service.ExternalTrafficPolicy},
		{"PassiveSpec.ModeOrDefault", e.Passive.ModeOrDefault(), s.Passive.Mode},
		{"PassiveSpec.PortRangeStartOrDefault", e.Passive.PortRangeStartOrDefault(), s.Passive.PortRangeStart},
		{"PassiveSpec.PortsPerReplicaOrDefault", e.Passive.PortsPerReplicaOrDefault(), s.Passive.PortsPerReplica},
		{"StorageSpec.SizeOrDefault", sizeOrDefault(&e.Storage), s.Storage.Size.String()},
		{"StorageSpec.AccessModesOrDefault", e.Storage.AccessModesOrDefault(), s.Storage.AccessModes},
		{"StorageSpec.ReclaimPolicyOrDefault", e.Storage.ReclaimPolicyOrDefault(), s.Storage.ReclaimPolicy},
		{"Limits.MaxSessionsOrDefault", e.Limits.MaxSessionsOrDefault(), s.Limits.MaxSessions},
		{"Limits.MaxSessionsPerIPOrDefault", e.Limits.MaxSessionsPerIPOrDefault(), s.Limits.MaxSessionsPerIP},
		{"Limits.IdleTimeoutOrDefault", e.Limits.IdleTimeoutOrDefault(), s.Limits.IdleTimeout.Duration},
		{"Limits.LoginTimeoutOrDefault", e.Limits.LoginTimeoutOrDefault(), s.Limits.LoginTimeout.Duration},
		{"Limits.MaxLoginFailuresOrDefault", e.Limits.MaxLoginFailuresOrDefault(), s.Limits.MaxLoginFailures},
		{"Limits.BanDurationOrDefault", e.Limits.BanDurationOrDefault(), s.Limits.BanDuration.Duration},
		{"SecretKeySelector.KeyOrDefault", emptyUser.Spec.PasswordSecretRef.KeyOrDefault(), gotUser.Spec.PasswordSecretRef.Key},
		{"FTPSUserSpec.PermissionsOrDefault", emptyUser.Spec.PermissionsOrDefault(), gotUser.Spec.Permissions},
		// Zero-value defaults, read directly by Go code (no accessor).
		{"spec.ports.implicit", e.Ports.Implicit, s.Ports.Implicit},
		{"spec.proxyProtocol.enabled", e.ProxyProtocol.Enabled, s.ProxyProtocol.Enabled},
		{"FTPSUser spec.disabled", emptyUser.Spec.Disabled, gotUser.Spec.Disabled},
	}
	for _, r := range rows {
		if !reflect.DeepEqual(r.accessor, r.fi) {
			t.Errorf("%s: empty object gives %v, the API server filled in %v", r.name, r.accessor, r.fi)
		}
	}

	// ftpsd defaults the same limits for a hand-written ftpsd.yaml.
	l := s.Limits
	for _, c := range []struct {
		name      string
		crd, ftps any
	}{
		{"maxSessions", int(l.MaxSessions), config.DefaultMaxSessions},
		{"maxSessionsPerIP", int(l.MaxSessionsPerIP), config.DefaultMaxSessionsPerIP},
		{"idleTimeout", l.IdleTimeout.Duration, config.DefaultIdleTimeout},
		{"loginTimeout", l.LoginTimeout.Duration, config.DefaultLoginTimeout},
		{"maxLoginFailures", int(l.MaxLoginFailures), config.DefaultMaxLoginFailures},
		{"banDuration", l.BanDuration.Duration, config.DefaultBanDuration},
	} {
		if !reflect.DeepEqual(c.crd, c.ftps) {
			t.Errorf("spec.limits.%s: the CRD defaults to %v, ftpsd/config to %v", c.name, c.crd, c.ftps)
		}
	}
}

func sizeOrDefault(s *v1alpha1.StorageSpec) string {
	q := s.SizeOrDefault()
	return q.String()
}

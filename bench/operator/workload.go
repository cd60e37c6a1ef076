package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

// issuerName is the cert-manager Issuer every server names. It need not
// exist: cert-manager's controllers do not run in envtest, so no
// Certificate is ever issued either way.
const issuerName = "bench-ca"

// workload is what the benchmark asks for: servers, each with its users
// and their password Secrets.
type workload struct {
	namespace      string
	servers        int
	usersPerServer int
	replicas       int32
}

func serverName(i int) string { return fmt.Sprintf("s%04d", i) }

func userName(i, j int) string { return fmt.Sprintf("%s-u%d", serverName(i), j) }

// inputs are the objects a person would apply for server i, in the order
// they are created: password Secrets and users first, the server last, so
// that the server's first reconcile can already see its users.
func (w workload) inputs(i int) []client.Object {
	var objs []client.Object
	for j := range w.usersPerServer {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: userName(i, j) + "-password"},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{"password": []byte(randomPassword())},
		}
		user := &v1alpha1.FTPSUser{
			ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: userName(i, j)},
			Spec: v1alpha1.FTPSUserSpec{
				ServerRef:         v1alpha1.LocalObjectReference{Name: serverName(i)},
				Username:          fmt.Sprintf("user%d", j),
				PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: secret.Name, Key: "password"},
				HomeDirectory:     fmt.Sprintf("user%d", j),
				Permissions:       []v1alpha1.Permission{v1alpha1.PermissionList, v1alpha1.PermissionRead, v1alpha1.PermissionWrite},
			},
		}
		objs = append(objs, secret, user)
	}
	replicas := w.replicas
	srv := &v1alpha1.FTPSServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: serverName(i)},
		Spec: v1alpha1.FTPSServerSpec{
			Replicas: &replicas,
			TLS:      v1alpha1.ServerTLS{IssuerRef: &v1alpha1.IssuerReference{Name: issuerName, Kind: "Issuer"}},
			// ClusterIP: LoadBalancer and NodePort Services would each take
			// node ports, of which a cluster has 2,768, fewer than 1,000
			// servers need; ClusterIP Services also get their address at
			// once, without a cloud controller.
			Service: v1alpha1.ServiceSpec{Type: v1alpha1.ServiceTypeClusterIP},
			Passive: v1alpha1.PassiveSpec{Mode: v1alpha1.PassiveModePerReplica},
			Storage: v1alpha1.StorageSpec{Size: resource.MustParse("1Gi"), ReclaimPolicy: v1alpha1.ReclaimRetain},
		},
	}
	return append(objs, srv)
}

// randomPassword is 24 hex digits: bcrypt hashes it like any password.
func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

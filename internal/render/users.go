package render

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// ResolvedUser is an FTPSUser whose password the reconciler has hashed.
type ResolvedUser struct {
	User *v1alpha1.FTPSUser
	// PasswordHash is the bcrypt hash of the user's password; empty for a
	// user that logs in with a client certificate only.
	PasswordHash string
}

// UsersFile is the users.yaml of srv, sorted by username so that the same
// users always give the same bytes.
func UsersFile(list []ResolvedUser) users.File {
	f := users.File{Users: []users.User{}}
	for _, ru := range list {
		s := ru.User.Spec
		u := users.User{
			Username:     s.Username,
			PasswordHash: ru.PasswordHash,
			Home:         s.HomeDirectory,
			Disabled:     s.Disabled,
		}
		for _, p := range s.PermissionsOrDefault() {
			u.Permissions = append(u.Permissions, users.Permission(p))
		}
		// Documented order, whatever order the spec lists them in.
		slices.SortFunc(u.Permissions, func(a, b users.Permission) int {
			return slices.Index(users.AllPermissions, a) - slices.Index(users.AllPermissions, b)
		})
		if cc := s.ClientCertificate; cc != nil {
			u.ClientCertificate = &users.ClientCertificate{CommonName: cc.CommonName, SHA256Fingerprint: cc.SHA256Fingerprint}
		}
		f.Users = append(f.Users, u)
	}
	slices.SortFunc(f.Users, func(a, b users.User) int { return cmp.Compare(a.Username, b.Username) })
	return f
}

// UsersSecret is the Secret <name>-users holding users.yaml. It holds
// nothing but the file the pods read: password hashes, never a password.
func UsersSecret(srv *v1alpha1.FTPSServer, list []ResolvedUser) (*corev1.Secret, error) {
	b, err := yaml.Marshal(UsersFile(list))
	if err != nil {
		return nil, fmt.Errorf("rendering users.yaml: %w", err)
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      UsersSecretName(srv),
			Namespace: srv.Namespace,
			Labels:    Labels(srv, ComponentServer),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{UsersKey: b},
	}, nil
}

// ExistingHashes reads the username -> password hash map of a users Secret
// the operator wrote before, so that unchanged passwords keep their hash.
func ExistingHashes(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	if s == nil {
		return out
	}
	var f users.File
	if err := yaml.Unmarshal(s.Data[UsersKey], &f); err != nil {
		return out
	}
	for _, u := range f.Users {
		if u.PasswordHash != "" {
			out[u.Username] = u.PasswordHash
		}
	}
	return out
}

// WinningUsers picks, for each username, the FTPSUser that owns it: the
// oldest, then the first by name. The others are duplicates. The server and
// the user reconcilers both decide with this function so that they agree.
func WinningUsers(list []v1alpha1.FTPSUser) (winners []*v1alpha1.FTPSUser, duplicates map[string]string) {
	sorted := make([]*v1alpha1.FTPSUser, 0, len(list))
	for i := range list {
		sorted = append(sorted, &list[i])
	}
	slices.SortFunc(sorted, func(a, b *v1alpha1.FTPSUser) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	owner := map[string]string{}
	duplicates = map[string]string{}
	for _, u := range sorted {
		if first, ok := owner[u.Spec.Username]; ok {
			duplicates[u.Name] = first
			continue
		}
		owner[u.Spec.Username] = u.Name
		winners = append(winners, u)
	}
	return winners, duplicates
}

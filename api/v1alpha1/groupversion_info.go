// Package v1alpha1 holds the ftps.dev/v1alpha1 API: FTPSServer, FTPSPolicy
// and FTPSUser.
//
// +kubebuilder:object:generate=true
// +groupName=ftps.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "ftps.dev", Version: "v1alpha1"}

	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&FTPSServer{}, &FTPSServerList{},
		&FTPSPolicy{}, &FTPSPolicyList{},
		&FTPSUser{}, &FTPSUserList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

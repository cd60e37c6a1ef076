// The FTPSPolicy spec of the ftps.dev API is defined in this package once
// (policy.go). The markers: deepcopy methods for it, and the API's group and
// version, so that the API reference (docs/api.md) lists its types there.
//
// +kubebuilder:object:generate=true
// +groupName=ftps.dev
// +versionName=v1alpha1

package config

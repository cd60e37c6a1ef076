// Package config is ftpsd's configuration (ftpsd.yaml). The FTPSPolicy spec of
// the ftps.dev API is defined here once (policy.go); the markers below let the
// API reference (docs/api.md) list these types under that API's group.
//
// +kubebuilder:object:generate=true
// +groupName=ftps.dev
// +versionName=v1alpha1
package config

// Package controllers holds the manager's reconcilers.
package controllers

// The permissions the manager needs, generated into config/rbac/role.yaml.
// Writes are limited to the kinds it owns; Secrets are read to hash user
// passwords and to read brought certificates, and written for the users
// Secret and the self-signed certificate it makes. FTPSServers are patched
// only to add or remove the finalizer that deletes data volumes
// (storage.reclaimPolicy Delete).
//
// +kubebuilder:rbac:groups=ftps.dev,resources=ftpspolicies;ftpsusers,verbs=get;list;watch
// +kubebuilder:rbac:groups=ftps.dev,resources=ftpsservers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=ftps.dev,resources=ftpsservers/status;ftpsusers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ftps.dev,resources=ftpsservers/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=configmaps;secrets;services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// Package nocertmanager holds the envtest tests of the reconcilers on a
// cluster without cert-manager: one test binary starts one API server, and
// this one starts it without cert-manager's CRDs.
package nocertmanager

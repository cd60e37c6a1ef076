// +kubebuilder:object:generate=true

package config

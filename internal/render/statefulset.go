package render

import (
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

// RunAsUser is the uid (and gid, and fsGroup) of ftpsd: the distroless
// "nonroot" user.
const RunAsUser int64 = 65532

// Volume names inside the pod.
const (
	volConfig   = "config"
	volUsers    = "users"
	volTLS      = "tls"
	volClientCA = "client-ca"
	volTmp      = "tmp"
)

// fileMode of the mounted files: readable by the owner and by fsGroup.
const fileMode int32 = 0o440

// StatefulSet is the StatefulSet <name> running the ftpsd pods. image is
// spec.image or, when empty, defaultImage (the operator's bundled ftpsd).
// restartHash is RestartHash of the rendered configuration.
func StatefulSet(srv *v1alpha1.FTPSServer, defaultImage, restartHash string) *appsv1.StatefulSet {
	image := srv.Spec.Image
	if image == "" {
		image = defaultImage
	}
	podLabels := mergeLabels(srv.Spec.Pod.Labels, Labels(srv, ComponentServer))
	podAnnotations := maps.Clone(srv.Spec.Pod.Annotations)
	if podAnnotations == nil {
		podAnnotations = map[string]string{}
	}
	podAnnotations[AnnotationRestartHash] = restartHash

	ports := []corev1.ContainerPort{{Name: "ftp", ContainerPort: PodControlPort, Protocol: corev1.ProtocolTCP}}
	if srv.Spec.Ports.Implicit != 0 {
		ports = append(ports, corev1.ContainerPort{Name: "ftps", ContainerPort: PodImplicitPort, Protocol: corev1.ProtocolTCP})
	}
	ports = append(ports, corev1.ContainerPort{Name: "metrics", ContainerPort: PodMetricsPort, Protocol: corev1.ProtocolTCP})

	mounts := []corev1.VolumeMount{
		{Name: volConfig, MountPath: ConfigDir, ReadOnly: true},
		{Name: volUsers, MountPath: UsersDir, ReadOnly: true},
		{Name: volTLS, MountPath: TLSDir, ReadOnly: true},
	}
	volumes := []corev1.Volume{
		{Name: volConfig, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(srv)},
			DefaultMode:          new(fileMode),
		}}},
		{Name: volUsers, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  UsersSecretName(srv),
			DefaultMode: new(fileMode),
		}}},
		{Name: volTLS, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: TLSSecretName(srv),
			// Only the pair ftpsd serves; a cert-manager Secret also holds ca.crt.
			Items: []corev1.KeyToPath{
				{Key: corev1.TLSCertKey, Path: corev1.TLSCertKey},
				{Key: corev1.TLSPrivateKeyKey, Path: corev1.TLSPrivateKeyKey},
			},
			DefaultMode: new(fileMode),
		}}},
	}
	if ca := srv.Spec.TLS.ClientCA; ca != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: volClientCA, MountPath: ClientCADir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: volClientCA, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  ca.SecretName,
			Items:       []corev1.KeyToPath{{Key: ca.KeyOrDefault(), Path: ca.KeyOrDefault()}},
			DefaultMode: new(fileMode),
		}}})
	}
	mounts = append(mounts,
		corev1.VolumeMount{Name: volTmp, MountPath: TmpDir},
		corev1.VolumeMount{Name: DataVolume, MountPath: DataDir},
	)
	volumes = append(volumes, corev1.Volume{Name: volTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})

	var claims []corev1.PersistentVolumeClaim
	if claim := srv.Spec.Storage.ExistingClaim; claim != "" {
		volumes = append(volumes, corev1.Volume{Name: DataVolume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
	} else {
		claims = []corev1.PersistentVolumeClaim{dataClaim(srv)}
	}

	probe := func(path string, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: path, Port: intstr.FromString("metrics"), Scheme: corev1.URISchemeHTTP,
			}},
			PeriodSeconds:    10,
			TimeoutSeconds:   2,
			FailureThreshold: failures,
		}
	}

	container := corev1.Container{
		Name:            ContainerName,
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            []string{"--config", ConfigPath},
		Env: []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
		},
		Ports:          ports,
		Resources:      *srv.Spec.Pod.Resources.DeepCopy(),
		VolumeMounts:   mounts,
		ReadinessProbe: probe("/readyz", 3),
		LivenessProbe:  probe("/healthz", 6),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             new(true),
			RunAsUser:                new(RunAsUser),
			RunAsGroup:               new(RunAsUser),
			AllowPrivilegeEscalation: new(false),
			ReadOnlyRootFilesystem:   new(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}

	pod := corev1.PodSpec{
		Containers:                    []corev1.Container{container},
		Volumes:                       volumes,
		AutomountServiceAccountToken:  new(false),
		EnableServiceLinks:            new(false),
		TerminationGracePeriodSeconds: new(int64(60)),
		NodeSelector:                  maps.Clone(srv.Spec.Pod.NodeSelector),
		Tolerations:                   slices.Clone(srv.Spec.Pod.Tolerations),
		Affinity:                      srv.Spec.Pod.Affinity.DeepCopy(),
		PriorityClassName:             srv.Spec.Pod.PriorityClassName,
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:        new(true),
			RunAsUser:           new(RunAsUser),
			RunAsGroup:          new(RunAsUser),
			FSGroup:             new(RunAsUser),
			FSGroupChangePolicy: new(corev1.FSGroupChangeOnRootMismatch),
			SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	for _, t := range srv.Spec.Pod.TopologySpreadConstraints {
		pod.TopologySpreadConstraints = append(pod.TopologySpreadConstraints, *t.DeepCopy())
	}

	retention := &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if srv.Spec.Storage.ReclaimPolicyOrDefault() == v1alpha1.ReclaimDelete {
		retention.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	}

	return &appsv1.StatefulSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      srv.Name,
			Namespace: srv.Namespace,
			Labels:    Labels(srv, ComponentServer),
		},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            new(Replicas(srv)),
			Selector:            &metav1.LabelSelector{MatchLabels: SelectorLabels(srv)},
			ServiceName:         srv.Name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: podAnnotations},
				Spec:       pod,
			},
			VolumeClaimTemplates:                 claims,
			PersistentVolumeClaimRetentionPolicy: retention,
		},
	}
}

func dataClaim(srv *v1alpha1.FTPSServer) corev1.PersistentVolumeClaim {
	st := srv.Spec.Storage
	size := st.SizeOrDefault()
	modes := st.AccessModesOrDefault()
	return corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   DataVolume,
			Labels: Labels(srv, ComponentServer),
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			StorageClassName: st.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
}

// DataClaimName is the PVC the StatefulSet makes for replica ordinal.
func DataClaimName(srv *v1alpha1.FTPSServer, ordinal int32) string {
	return DataVolume + "-" + PodName(srv, ordinal)
}

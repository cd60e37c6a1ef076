// Package faults proves that the operator converges under faults (issue 9,
// "The operator under faults"). Its tests run the real reconcilers, wired by
// controllers.Setup exactly as main.go wires them, in-process against a real
// kube-apiserver and etcd (envtest), and inject one fault each:
//
//   - the manager stops in the middle of reconciling 30 servers and a new
//     manager takes over (TestManagerRestartMidReconcile);
//   - kube-apiserver restarts, and kube-apiserver and etcd restart with
//     etcd's data kept, while a spec changes (TestControlPlaneRestart);
//   - another field manager keeps rewriting fields the operator owns while
//     the spec changes (TestConflictingWrites);
//   - children are deleted by hand, and data claims outlive scale down and
//     server deletion with reclaimPolicy Retain (TestChildDeletedByHand,
//     TestDataClaimsSurvive); a child edited by hand is
//     controllers.TestDriftIsReverted;
//   - a user's password Secret, and a brought TLS Secret, are deleted and
//     recreated (TestPasswordSecretDeletedAndRecreated,
//     TestBroughtTLSSecretDeletedAndRecreated).
//
// Each test waits, within a bounded time, until every child equals what
// internal/render makes of the current spec and the status reports the
// current generation honestly; then it checks the exact end state.
//
// Servers use the operator's self-signed certificate (or a brought Secret)
// and ClusterIP Services: both are complete paths of the operator that need
// no cert-manager controllers and no load balancer, which keeps 30 servers
// light. cert-manager's CRDs are installed, as on a typical cluster. No
// kube-controller-manager or kubelet runs: the tests write a StatefulSet's
// status as the StatefulSet controller would once its pods are ready (see
// rollOut), and make data PVCs the way the StatefulSet controller names them.
package faults

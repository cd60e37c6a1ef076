package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/controllers"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// forEach runs f for servers 0..n-1 on workers goroutines and returns the
// first error; after an error no new server is started.
func forEach(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return err
	}
	return ctx.Err()
}

// createInputs creates the inputs of server i.
func createInputs(ctx context.Context, c client.Client, w workload, i int) ([]client.Object, error) {
	objs := w.inputs(i)
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return objs, nil
}

// plainClient is the reference: what a program that knows the answer
// needs to make the same objects with plain creates. For each server it
// creates the inputs (as the operator run does), hashes the passwords with
// the same bcrypt cost, renders the children with internal/render, and
// creates them: the Certificate, the Services (whose cluster IPs the
// ConfigMap advertises), the users Secret, the ConfigMap, the StatefulSet
// and the PodDisruptionBudget, each owned by its server. It writes no
// status and records no event; the operator does both.
func plainClient(ctx context.Context, c client.Client, scheme *runtime.Scheme, w workload, workers int) (time.Duration, error) {
	start := time.Now()
	err := forEach(ctx, w.servers, workers, func(ctx context.Context, i int) error {
		objs, err := createInputs(ctx, c, w, i)
		if err != nil {
			return err
		}
		return createChildren(ctx, c, scheme, objs)
	})
	return time.Since(start), err
}

func createChildren(ctx context.Context, c client.Client, scheme *runtime.Scheme, inputs []client.Object) error {
	var srv *v1alpha1.FTPSServer
	passwords := map[string][]byte{}
	var us []*v1alpha1.FTPSUser
	for _, o := range inputs {
		switch o := o.(type) {
		case *v1alpha1.FTPSServer:
			srv = o // as created: with the API server's defaults
		case *v1alpha1.FTPSUser:
			us = append(us, o)
		case *corev1.Secret:
			passwords[o.Name] = o.Data["password"]
		}
	}
	create := func(o client.Object) error {
		if err := controllerutil.SetControllerReference(srv, o, scheme); err != nil {
			return err
		}
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
		return nil
	}
	if err := create(render.Certificate(srv)); err != nil {
		return err
	}
	if err := create(render.ControlService(srv)); err != nil {
		return err
	}
	addrs := map[int32]string{}
	for _, s := range render.PassiveServices(srv) {
		if err := create(s); err != nil {
			return err
		}
		if ord, err := strconv.Atoi(s.Annotations[render.AnnotationReplica]); err == nil {
			addrs[int32(ord)] = s.Spec.ClusterIP
		}
	}
	resolved := make([]render.ResolvedUser, 0, len(us))
	for _, u := range us {
		h, err := users.HashPassword(string(passwords[u.Spec.PasswordSecretRef.Name]))
		if err != nil {
			return err
		}
		resolved = append(resolved, render.ResolvedUser{User: u, PasswordHash: h})
	}
	usersSecret, err := render.UsersSecret(srv, resolved)
	if err != nil {
		return err
	}
	if err := create(usersSecret); err != nil {
		return err
	}
	cfg := render.FTPSDConfig(srv, nil, addrs)
	cm, err := render.ConfigMap(srv, cfg)
	if err != nil {
		return err
	}
	if err := create(cm); err != nil {
		return err
	}
	if err := create(render.StatefulSet(srv, controllers.DefaultImage, render.RestartHash(cfg, nil))); err != nil {
		return err
	}
	return create(render.PodDisruptionBudget(srv))
}

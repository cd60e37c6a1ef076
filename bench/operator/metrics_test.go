package main

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	in := `# HELP apiserver_request_total Counter
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 12
apiserver_request_total{code="200",component="apiserver",group="apps",resource="statefulsets",scope="resource",subresource="",verb="APPLY",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",group="ftps.dev",resource="ftpsservers",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 2
apiserver_request_total{code="200",component="apiserver",group="",resource="secrets",scope="resource",subresource="",verb="GET",version="v1"} 40
workqueue_depth{controller="ftpsserver",name="ftpsserver"} 0
process_resident_memory_bytes 1.5e+07
`
	samples, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 6 {
		t.Fatalf("%d samples, want 6", len(samples))
	}
	if got := sum(samples, "apiserver_request_total", map[string]string{"verb": "GET"}); got != 40 {
		t.Errorf("GET sum %g", got)
	}
	if got := sum(samples, "process_resident_memory_bytes", nil); got != 1.5e7 {
		t.Errorf("RSS %g", got)
	}
	if s := samples[2]; s.labels["subresource"] != "status" || s.labels["group"] != "ftps.dev" {
		t.Errorf("labels %v", s.labels)
	}
}

func TestWithoutInputs(t *testing.T) {
	w := workload{servers: 2, usersPerServer: 1}
	d := withoutInputs(writeCounts{"secrets POST": 2, "secrets APPLY": 2, "ftpsusers.ftps.dev POST": 2, "ftpsservers.ftps.dev POST": 2}, w)
	if len(d) != 1 || d["secrets APPLY"] != 2 {
		t.Errorf("got %v", d)
	}
	ours, other := split(writeCounts{"services APPLY": 2, "ftpsservers.ftps.dev/status PATCH": 1, "events.events.k8s.io POST": 1, "leases.coordination.k8s.io PUT": 1})
	if ours.total() != 4 || other.total() != 1 {
		t.Errorf("ours %v, other %v", ours, other)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text format: enough of it for the
// counters and gauges read here (no escapes inside label values other than
// \" and \\, which Kubernetes' label values do not use anyway).
func parseMetrics(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		var rest string
		if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
			s.name = line[:i]
			end := strings.LastIndex(line, "}")
			if end < i {
				return nil, fmt.Errorf("bad metric line %q", line)
			}
			parseLabels(line[i+1:end], s.labels)
			rest = strings.TrimSpace(line[end+1:])
		} else {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			s.name, rest = f[0], strings.Join(f[1:], " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseLabels(s string, into map[string]string) {
	for len(s) > 0 {
		eq := strings.Index(s, "=\"")
		if eq < 0 {
			return
		}
		key := strings.TrimSpace(strings.TrimLeft(s[:eq], ","))
		s = s[eq+2:]
		var val strings.Builder
		i := 0
		for ; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				val.WriteByte(s[i])
				continue
			}
			if s[i] == '"' {
				break
			}
			val.WriteByte(s[i])
		}
		into[key] = val.String()
		if i >= len(s) {
			return
		}
		s = s[i+1:]
	}
}

// writeVerbs are the verbs of apiserver_request_total that change
// something. Server-side apply is reported as APPLY.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true, "DELETECOLLECTION": true}

// writeCounts maps "resource[/subresource] VERB" to a count.
type writeCounts map[string]float64

func (w writeCounts) total() float64 {
	var t float64
	for _, v := range w {
		t += v
	}
	return t
}

// minus is w - before, without the zero entries.
func (w writeCounts) minus(before writeCounts) writeCounts {
	out := writeCounts{}
	for k, v := range w {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	for k, v := range before {
		if _, ok := w[k]; !ok && v != 0 {
			out[k] = -v
		}
	}
	return out
}

// byResource sums the verbs of each resource.
func (w writeCounts) byResource() map[string]float64 {
	out := map[string]float64{}
	for k, v := range w {
		out[strings.Fields(k)[0]] += v
	}
	return out
}

func (w writeCounts) String() string {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%g ", k, w[k])
	}
	return strings.TrimSpace(b.String())
}

// apiWrites reads the API server's write counters. Only requests that
// succeeded or failed both count: a failed write still cost a round trip.
func apiWrites(ctx context.Context, cfg *rest.Config) (writeCounts, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	body, err := dc.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading kube-apiserver /metrics: %w", err)
	}
	samples, err := parseMetrics(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out := writeCounts{}
	for _, s := range samples {
		if s.name != "apiserver_request_total" || !writeVerbs[s.labels["verb"]] {
			continue
		}
		res := s.labels["resource"]
		if g := s.labels["group"]; g != "" {
			res += "." + g
		}
		if sub := s.labels["subresource"]; sub != "" {
			res += "/" + sub
		}
		key := res + " " + s.labels["verb"]
		if code := s.labels["code"]; code != "" && code[0] != '2' {
			// Refused writes (409 conflicts, say) are round trips too:
			// counted, and told apart.
			key += " " + code
		}
		out[key] += s.value
	}
	return out, nil
}

// managerMetrics reads the manager's own /metrics endpoint.
func managerMetrics(ctx context.Context, addr string) ([]sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("manager /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// sum adds the samples named name whose labels include match.
func sum(samples []sample, name string, match map[string]string) float64 {
	var t float64
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range match {
			if s.labels[k] != v {
				continue next
			}
		}
		t += s.value
	}
	return t
}

package main

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// series is one metric of samples.tsv drawn as one bar per server.
type series struct{ metric, name string }

// refLine is a horizontal line across a chart (a machine limit or a target).
type refLine struct {
	name  string
	value float64
	color color.Color
}

// spec is one chart: the metrics side by side per server, and its lines.
type spec struct {
	file, title, ylabel, format string
	series                      []series
	refs                        func(*Samples) []refLine
}

var (
	ours      = color.RGBA{R: 0x1f, G: 0x6f, B: 0xc5, A: 0xff}
	peerGrays = []color.Color{
		color.RGBA{R: 0x8c, G: 0x8c, B: 0x8c, A: 0xff},
		color.RGBA{R: 0xa8, G: 0xa8, B: 0xa8, A: 0xff},
		color.RGBA{R: 0xc4, G: 0xc4, B: 0xc4, A: 0xff},
	}
	seriesColors = []color.Color{
		color.RGBA{R: 0x1f, G: 0x6f, B: 0xc5, A: 0xff},
		color.RGBA{R: 0xe0, G: 0x8a, B: 0x1e, A: 0xff},
		color.RGBA{R: 0x3a, G: 0x9a, B: 0x4a, A: 0xff},
	}
	limitColor  = color.RGBA{R: 0xc0, G: 0x20, B: 0x20, A: 0xff}
	targetColor = color.RGBA{R: 0x80, G: 0x20, B: 0x90, A: 0xff}
	metColor    = color.RGBA{R: 0x3a, G: 0x9a, B: 0x4a, A: 0xff}
	missColor   = color.RGBA{R: 0xc0, G: 0x30, B: 0x30, A: 0xff}
)

// tlsRefs: the Go TLS 1.3 loopback ceiling of the same run, and issue #7's
// 80 % of it. The ceiling is the one sampled between the PROT P rounds
// when the run has it (the same phases of the VM as the transfers).
func tlsRefs(s *Samples) []refLine {
	st, ok := s.Stat("limits", "tlsloop_tls13_rounds")
	if !ok {
		st, ok = s.Stat("limits", "tlsloop_tls13")
	}
	if !ok {
		return nil
	}
	return []refLine{
		{fmt.Sprintf("Go TLS 1.3 over loopback, 1 connection (tlsloop tls13): %.0f", st.Median), st.Median, limitColor},
		{fmt.Sprintf("target: 80 %% of it, %.0f", 0.8*st.Median), 0.8 * st.Median, targetColor},
	}
}

func specs() []spec {
	const mbs = "MB/s (10^6 B/s): median, min–max"
	return []spec{
		{file: "retr_protp.png", title: "RETR, PROT P (TLS data connection)", ylabel: mbs, format: "%.0f",
			series: []series{{"retr_protp", "RETR, curl"}, {"retr_protp_go", "RETR, Go client"}}, refs: tlsRefs},
		{file: "stor_protp.png", title: "STOR, PROT P (TLS data connection)", ylabel: mbs, format: "%.0f",
			series: []series{{"stor_protp", "STOR, curl"}, {"stor_protp_go", "STOR, Go client"}}, refs: tlsRefs},
		{file: "protc.png", title: "RETR and STOR, PROT C (clear data connection)", ylabel: mbs, format: "%.0f",
			series: []series{{"retr_protc", "RETR"}, {"stor_protc", "STOR"}},
			refs: func(s *Samples) []refLine {
				if st, ok := s.Stat("limits", "tlsloop_tcp"); ok {
					return []refLine{{fmt.Sprintf("plain TCP over loopback, 1 connection (tlsloop tcp): %.0f", st.Median), st.Median, limitColor}}
				}
				return nil
			}},
		{file: "sessions.png", title: "Sessions per second (login, RETR 4 KiB, QUIT; Python client)",
			ylabel: "sessions/s: median of rounds, min–max", format: "%.0f",
			series: []series{{"sessions_python_seq", "sequential"}, {"sessions_python_par4", "4 clients"}}},
		{file: "idle_uss.png", title: "Private memory (USS) per idle logged-in TLS session",
			ylabel: "KiB per session (lower is better)", format: "%.0f",
			series: []series{{"idle_uss_kib_per_session", "USS per session"}},
			refs: func(*Samples) []refLine {
				return []refLine{{"target: 64 KiB", 64, targetColor}}
			}},
		{file: "listing.png", title: "Listing 1000 files (lower is better)", ylabel: "ms: median, min–max", format: "%.1f",
			series: []series{{"list_curl_ms", "LIST, curl (LIST to 226)"}, {"list_python_ms", "LIST, Python, in session"},
				{"mlsd_python_ms", "MLSD, Python, in session"}}},
	}
}

// render draws one spec from the samples.
func render(s *Samples, sp spec) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = sp.title
	p.Y.Label.Text = sp.ylabel
	p.Y.Min = 0
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	servers := s.Servers()
	n := len(sp.series)
	step := float64(n) + 0.6
	var ticks []plot.Tick
	for g, srv := range servers {
		label := srv
		if srv == "ftpsd" {
			label = "ftpsd (ours)"
		}
		ticks = append(ticks, plot.Tick{Value: float64(g) * step, Label: label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)

	for i, se := range sp.series {
		var groups []*bars // one colour per server when there is one series
		if n == 1 {
			gray := 0
			for _, srv := range servers {
				c := color.Color(ours)
				if srv != "ftpsd" {
					c = peerGrays[gray%len(peerGrays)]
					gray++
				}
				groups = append(groups, &bars{width: 0.8, color: c})
			}
		} else {
			b := &bars{width: 0.8, color: seriesColors[i%len(seriesColors)]}
			for range servers {
				groups = append(groups, b)
			}
			p.Legend.Add(se.name, b)
		}
		for g, srv := range servers {
			pos := float64(g)*step + float64(i) - float64(n-1)/2
			st, ok := s.Stat(srv, se.metric)
			if !ok {
				groups[g].items = append(groups[g].items, bar{pos: pos, label: "n/a"})
				continue
			}
			it := bar{pos: pos, value: st.Median, label: fmt.Sprintf(sp.format, st.Median)}
			if st.N > 1 && st.Max > st.Min {
				it.lo, it.hi = st.Min, st.Max
			}
			if st.Failed > 0 {
				it.label += fmt.Sprintf(" (%d failed)", st.Failed)
			}
			groups[g].items = append(groups[g].items, it)
		}
		seen := map[*bars]bool{}
		for _, b := range groups {
			if !seen[b] {
				seen[b] = true
				p.Add(b)
			}
		}
	}
	if sp.refs != nil {
		lo, hi := -0.6*step, float64(len(servers)-1)*step+0.6*step
		for _, r := range sp.refs(s) {
			l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: r.value}, {X: hi, Y: r.value}})
			if err != nil {
				return nil, err
			}
			l.Color = r.color
			l.Width = vg.Points(1.5)
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			p.Add(l)
			p.Legend.Add(r.name, l)
			p.Y.Max = max(p.Y.Max, r.value)
		}
	}
	if len(sp.series) > 1 || sp.refs != nil {
		p.Y.Max *= 1.25 // room for the legend above the bars
	}
	return p, nil
}

// ratioCap keeps one far-exceeded target from squashing the others; the
// label still shows the real ratio.
const ratioCap = 3.0

// plainTicks are gonum's default ticks labelled without trailing zeros.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
		}
	}
	return ticks
}

// renderTargets draws issue #7's targets as ratios: ours / target for
// "at least" targets and target / ours for "at most" ones, so that a bar
// reaching 1 means met.
func renderTargets(ts []Target) *plot.Plot {
	p := plot.New()
	p.Title.Text = "ftpsd against issue #7's targets (1 = exactly on target)"
	p.X.Label.Text = fmt.Sprintf("ours / target (\"at most\" targets: target / ours); bars stop at %gx", ratioCap)
	p.X.Min = 0
	p.X.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	met := &bars{width: 0.7, color: metColor, horizontal: true}
	missed := &bars{width: 0.7, color: missColor, horizontal: true}
	var ticks []plot.Tick
	for i, t := range ts {
		pos := float64(len(ts) - 1 - i) // first row on top
		ticks = append(ticks, plot.Tick{Value: pos, Label: t.Measure})
		r, ok := t.Ratio()
		switch {
		case !ok:
			missed.items = append(missed.items, bar{pos: pos, label: "n/a"})
		case t.Met == "yes":
			met.items = append(met.items, bar{pos: pos, value: min(r, ratioCap), label: fmt.Sprintf("%.2fx", r)})
		default:
			missed.items = append(missed.items, bar{pos: pos, value: min(r, ratioCap), label: fmt.Sprintf("%.2fx", r)})
		}
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(met, missed)
	p.Legend.Add("met", met)
	p.Legend.Add("missed", missed)
	if l, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.6}, {X: 1, Y: float64(len(ts)) - 0.4}}); err == nil {
		l.Color = color.Black
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
	}
	p.X.Max = max(p.X.Max, 1.3) * 1.1
	return p
}

// writeAll renders every chart into dir and returns the files written.
func writeAll(s *Samples, ts []Target, dir string) ([]string, error) {
	var files []string
	for _, sp := range specs() {
		p, err := render(s, sp)
		if err != nil {
			return files, fmt.Errorf("%s: %w", sp.file, err)
		}
		f := filepath.Join(dir, sp.file)
		if err := p.Save(8*vg.Inch, 4.5*vg.Inch, f); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	if len(ts) > 0 {
		f := filepath.Join(dir, "targets.png")
		h := vg.Length(1.5+0.32*float64(len(ts))) * vg.Inch
		if err := renderTargets(ts).Save(10*vg.Inch, h, f); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}

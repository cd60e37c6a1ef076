package main

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// bar is one bar, in data coordinates: pos on the category axis, value on
// the value axis, an optional lo–hi range (min–max of the samples), and a
// label written at its end.
type bar struct {
	pos, value, lo, hi float64
	label              string
}

// bars draws bars of one colour. plotter.BarChart sizes its bars in drawing
// units and places them at consecutive integers; grouped bars with error
// bars at the same positions are simpler in data units, hence this type.
type bars struct {
	items      []bar
	width      float64 // data units on the category axis
	color      color.Color
	horizontal bool
}

var (
	_ plot.Plotter     = (*bars)(nil)
	_ plot.DataRanger  = (*bars)(nil)
	_ plot.Thumbnailer = (*bars)(nil)
)

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	// pt maps (category, value) to the canvas whatever the orientation
	pt := func(cat, val float64) vg.Point {
		if b.horizontal {
			return vg.Point{X: trX(val), Y: trY(cat)}
		}
		return vg.Point{X: trX(cat), Y: trY(val)}
	}
	errStyle := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	labelStyle := text.Style{
		Color: color.Black, Font: font.From(plot.DefaultFont, 8), Handler: plot.DefaultTextHandler,
		XAlign: draw.XCenter, YAlign: draw.YBottom,
	}
	if b.horizontal {
		labelStyle.XAlign, labelStyle.YAlign = draw.XLeft, draw.YCenter
	}
	for _, it := range b.items {
		x0, x1 := it.pos-b.width/2, it.pos+b.width/2
		corners := []vg.Point{pt(x0, 0), pt(x1, 0), pt(x1, it.value), pt(x0, it.value)}
		c.FillPolygon(b.color, c.ClipPolygonXY(corners))
		end := it.value
		if it.hi > it.lo {
			capW := b.width / 4
			c.StrokeLines(errStyle,
				c.ClipLinesXY([]vg.Point{pt(it.pos, it.lo), pt(it.pos, it.hi)})...)
			for _, v := range []float64{it.lo, it.hi} {
				c.StrokeLines(errStyle, c.ClipLinesXY([]vg.Point{pt(it.pos-capW, v), pt(it.pos+capW, v)})...)
			}
			end = max(end, it.hi)
		}
		if it.label != "" {
			at := pt(it.pos, end)
			if b.horizontal {
				at.X += vg.Points(3)
			} else {
				at.Y += vg.Points(2)
			}
			c.FillText(labelStyle, at, it.label)
		}
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	cmin, cmax, vmax := 0.0, 0.0, 0.0
	for i, it := range b.items {
		if i == 0 || it.pos < cmin {
			cmin = it.pos
		}
		if i == 0 || it.pos > cmax {
			cmax = it.pos
		}
		vmax = max(vmax, it.value, it.hi)
	}
	cmin -= b.width
	cmax += b.width
	vmax *= 1.12 // room for the labels
	if b.horizontal {
		return 0, vmax, cmin, cmax
	}
	return cmin, cmax, 0, vmax
}

func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y},
		{X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	}
	c.FillPolygon(b.color, c.ClipPolygonXY(pts))
}

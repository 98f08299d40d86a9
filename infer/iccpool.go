package infer

import "math"

// ICCPool is EstimateICC computed as batches arrive: the pooled one-way
// analysis of variance over groups the caller numbers (one platform's
// batches of one ecosystem), extended one observation at a time, so that
// the correlation from the batches before any one is at hand without
// re-reading them (the detector's floor, docs/METHODS.md). Its Rho equals
// EstimateICC's over the same groups, up to rounding.
type ICCPool struct {
	groups []iccGroup
	// The sums over groups of at least two batches.
	ssb, ssw, dfb, dfw, n0num float64
}

type iccGroup struct {
	x, n, sx2n, sn2 float64
	k               int
}

// contribution is the group's part of the pooled sums (none below two
// batches, as in EstimateICC).
func (g *iccGroup) contribution() (ssb, ssw, dfb, dfw, n0num float64) {
	if g.k < 2 {
		return
	}
	return g.sx2n - g.x*g.x/g.n, g.x - g.sx2n, float64(g.k - 1), g.n - float64(g.k), g.n - g.sn2/g.n
}

// Add counts one batch's results in a group (numbered from 0).
func (p *ICCPool) Add(group int, o Obs) {
	if o.Tested <= 0 {
		return
	}
	for group >= len(p.groups) {
		p.groups = append(p.groups, iccGroup{})
	}
	g := &p.groups[group]
	b, w, db, dw, n0 := g.contribution()
	p.ssb, p.ssw, p.dfb, p.dfw, p.n0num = p.ssb-b, p.ssw-w, p.dfb-db, p.dfw-dw, p.n0num-n0
	xb, nb := float64(o.Passed), float64(o.Tested)
	g.x += xb
	g.n += nb
	g.sx2n += xb * xb / nb
	g.sn2 += nb * nb
	g.k++
	b, w, db, dw, n0 = g.contribution()
	p.ssb, p.ssw, p.dfb, p.dfw, p.n0num = p.ssb+b, p.ssw+w, p.dfb+db, p.dfw+dw, p.n0num+n0
}

// Rho is the pooled correlation of the batches added so far (0 while no
// group has two batches).
func (p *ICCPool) Rho() float64 {
	// The degrees of freedom are sums of whole numbers: exact.
	if p.dfb <= 0 || p.dfw <= 0 {
		return 0
	}
	msb, msw := p.ssb/p.dfb, p.ssw/p.dfw
	n0 := p.n0num / p.dfb
	if den := msb + (n0-1)*msw; den > 0 {
		return math.Max(0, math.Min(1, (msb-msw)/den))
	}
	return 0
}

package infer

import "math"

// ICCPool is EstimateICC computed as batches arrive: the pooled one-way
// analysis of variance over groups the caller numbers (one platform's
// batches of one ecosystem), extended one observation at a time, so that
// the correlation from the batches before any one is at hand without
// re-reading them (the detector's floor, docs/METHODS.md). Its Rho equals
// EstimateICC's over the same groups, up to rounding.
type ICCPool struct {
	groups []Suff
	sums   anova
}

// anova holds the pooled sums of the one-way analysis of variance over
// groups (EstimateICC), each group's about its own mean.
type anova struct{ ssb, ssw, dfb, dfw, n0num float64 }

// add counts a group's part in the sums (sign 1) or takes it out (sign
// -1); a group of fewer than two batches has none.
func (a *anova) add(g Suff, sign float64) {
	if g.K < 2 {
		return
	}
	a.ssb += sign * (g.SX2N - g.X*g.X/g.N)
	a.ssw += sign * (g.X - g.SX2N)
	a.dfb += sign * float64(g.K-1)
	a.dfw += sign * (g.N - float64(g.K))
	a.n0num += sign * (g.N - g.SN2/g.N)
}

// icc is the correlation the sums estimate: (MSB - MSW) / (MSB + (n0 - 1)
// MSW), clamped to [0, 1]; 0 without degrees of freedom.
func (a anova) icc() ICC {
	out := ICC{DF: a.dfb}
	if a.dfb <= 0 || a.dfw <= 0 {
		return out
	}
	msb, msw := a.ssb/a.dfb, a.ssw/a.dfw
	n0 := a.n0num / a.dfb
	if den := msb + (n0-1)*msw; den > 0 {
		out.Rho = math.Max(0, math.Min(1, (msb-msw)/den))
	}
	return out
}

// Add counts one batch's results in a group (numbered from 0).
func (p *ICCPool) Add(group int, o Obs) {
	if o.Tested <= 0 {
		return
	}
	for group >= len(p.groups) {
		p.groups = append(p.groups, Suff{})
	}
	g := &p.groups[group]
	p.sums.add(*g, -1)
	g.Add(o)
	p.sums.add(*g, 1)
}

// Rho is the pooled correlation of the batches added so far (0 while no
// group has two batches).
func (p *ICCPool) Rho() float64 { return p.sums.icc().Rho }

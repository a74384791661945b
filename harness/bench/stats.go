// SPDX-License-Identifier: MIT

package bench

import (
	"math"
	"slices"
)

// Stat summarises repeated measurements of one quantity.
type Stat struct {
	N       int       `json:"n"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples,omitempty"`
}

// summarize returns the Stat of samples; NaNs (a sample that could not be
// taken) are left out.
func summarize(samples []float64) Stat {
	var s []float64
	for _, v := range samples {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return Stat{}
	}
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	n := len(sorted)
	med := sorted[n/2]
	if n%2 == 0 {
		med = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return Stat{N: n, Median: med, Min: sorted[0], Max: sorted[n-1], Samples: s}
}

// ratios divides a by b sample by sample: samples taken in the same
// iteration saw the same load on the machine.
func ratios(a, b []float64) []float64 {
	r := make([]float64, min(len(a), len(b)))
	for i := range r {
		r[i] = math.NaN()
		if b[i] > 0 && !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			r[i] = a[i] / b[i]
		}
	}
	return r
}

var nan = math.NaN()

func isNaN(v float64) bool { return math.IsNaN(v) }

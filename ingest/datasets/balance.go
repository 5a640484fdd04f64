package datasets

import (
	"slices"
	"sort"
)

// labelRow is one row as the balancers see it.
type labelRow struct {
	ID string
	// Pos lists the labels the row has (its modality, its findings).
	Pos []string
	// Skip lists labels the row neither has nor lacks (CheXpert's uncertain
	// under the "ignore" policy): never asked about, either way.
	Skip []string
}

func (r *labelRow) negativeFor(label string) bool {
	return !slices.Contains(r.Pos, label) && !slices.Contains(r.Skip, label)
}

// normalLabel stands for "no positive label" when capping classes.
const normalLabel = "\x00normal"

// capPerLabel implements class balancing: rows are visited in an order
// fixed by a hash of their id and kept while any of their labels has fewer
// than max kept rows (rows without labels count as one "normal" class).
// Keeping a row while ANY label is under the cap keeps every row of a rare
// label even when it co-occurs with a common one. max <= 0 keeps all.
func capPerLabel(rows []labelRow, max int, seed string) []bool {
	keep := make([]bool, len(rows))
	if max <= 0 {
		for i := range keep {
			keep[i] = true
		}
		return keep
	}
	order := make([]int, len(rows))
	hs := make([]uint64, len(rows))
	for i := range rows {
		order[i] = i
		hs[i] = hash64(seed, "cap", rows[i].ID)
	}
	sort.SliceStable(order, func(a, b int) bool { return hs[order[a]] < hs[order[b]] })
	count := map[string]int{}
	for _, i := range order {
		labels := rows[i].Pos
		if len(labels) == 0 {
			labels = []string{normalLabel}
		}
		under := false
		for _, l := range labels {
			if count[l] < max {
				under = true
				break
			}
		}
		if !under {
			continue
		}
		keep[i] = true
		for _, l := range labels {
			count[l]++
		}
	}
	return keep
}

// negatives chooses the "no" questions of a yes/no task so that every label
// is asked about as often with answer no as with answer yes. A label with
// P positive rows is asked, with answer no, on P rows that are negative for
// it (fewer if fewer exist), chosen by a seeded hash. The true label of a
// row is never its negative — the RadFM code formats the "no" question of
// its modality task with the true modality, so half its "no" answers are
// wrong; negativeFor rules that out here.
//
// It returns, per row, the labels to ask about with answer no, in vocabulary
// order.
func negatives(rows []labelRow, vocab []string, seed string) [][]string {
	out := make([][]string, len(rows))
	n := len(rows)
	for _, label := range vocab {
		want, eligible := 0, 0
		for i := range rows {
			if slices.Contains(rows[i].Pos, label) {
				want++
			} else if rows[i].negativeFor(label) {
				eligible++
			}
		}
		if want == 0 || eligible == 0 {
			continue
		}
		var chosen []int
		switch {
		case want >= eligible:
			for i := range rows {
				if rows[i].negativeFor(label) {
					chosen = append(chosen, i)
				}
			}
		case eligible*4 >= n:
			// Dense: rejection-sample row indices, O(want) expected.
			seen := map[int]bool{}
			for k := 0; len(chosen) < want && k < 64*want+1024; k++ {
				i := int(hash64(seed, "neg", label, itoa(k)) % uint64(n))
				if seen[i] || !rows[i].negativeFor(label) {
					continue
				}
				seen[i] = true
				chosen = append(chosen, i)
			}
			if len(chosen) < want {
				chosen = rankNegatives(rows, label, seed, want)
			}
		default:
			chosen = rankNegatives(rows, label, seed, want)
		}
		for _, i := range chosen {
			out[i] = append(out[i], label)
		}
	}
	return out
}

// rankNegatives returns the want rows negative for label with the smallest
// seeded hash.
func rankNegatives(rows []labelRow, label, seed string, want int) []int {
	type cand struct {
		i int
		h uint64
	}
	var cs []cand
	for i := range rows {
		if rows[i].negativeFor(label) {
			cs = append(cs, cand{i, hash64(seed, "neg", label, rows[i].ID)})
		}
	}
	sort.Slice(cs, func(a, b int) bool { return cs[a].h < cs[b].h || cs[a].h == cs[b].h && cs[a].i < cs[b].i })
	if len(cs) > want {
		cs = cs[:want]
	}
	out := make([]int, len(cs))
	for k, c := range cs {
		out[k] = c.i
	}
	sort.Ints(out)
	return out
}

func itoa(k int) string {
	var b [20]byte
	i := len(b)
	if k == 0 {
		return "0"
	}
	for k > 0 {
		i--
		b[i] = byte('0' + k%10)
		k /= 10
	}
	return string(b[i:])
}

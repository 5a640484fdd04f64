package normalize

import (
	"regexp"
	"sort"
	"unicode/utf8"

	"github.com/medmd/medmd/shards"
)

// Edit replaces Text[Start:End] (byte offsets) with Repl.
type Edit struct {
	Start, End int
	Repl       string
}

// TextRule proposes the edits for one text. Edits must be sorted by Start
// and must not overlap.
type TextRule struct {
	// Name is used for counts (Meta) and transform records, e.g. "email".
	Name  string
	Edits func(text string) []Edit
}

// ApplyEdits applies sorted, non-overlapping edits to s and maps each
// code-point offset in offsets (positions *before* a code point, 0…len)
// to the new text: offsets before, after or at the edges of an edit keep
// their neighbours; an offset strictly inside a replaced span moves to the
// start of its replacement. offsets is rewritten in place and returned.
func ApplyEdits(s string, edits []Edit, offsets []int) (string, []int) {
	if len(edits) == 0 {
		return s, offsets
	}
	// Map code-point offsets to byte offsets once, in order.
	type ref struct{ cp, idx, b int }
	refs := make([]ref, len(offsets))
	for i, o := range offsets {
		refs[i] = ref{cp: o, idx: i}
	}
	sort.Slice(refs, func(a, b int) bool { return refs[a].cp < refs[b].cp })
	cp, bi := 0, 0
	for i := range refs {
		for cp < refs[i].cp && bi < len(s) {
			_, n := utf8.DecodeRuneInString(s[bi:])
			bi += n
			cp++
		}
		refs[i].b = bi
	}
	// Build the new text; track (old byte → new code point) at edit edges.
	out := make([]byte, 0, len(s))
	prev := 0
	r := 0
	newCP := 0
	emit := func(seg string) {
		out = append(out, seg...)
		newCP += utf8.RuneCountInString(seg)
	}
	for _, e := range edits {
		// unchanged run [prev, e.Start): offsets inside keep relative places
		for r < len(refs) && refs[r].b <= e.Start {
			if refs[r].b < prev {
				r++
				continue
			}
			offsets[refs[r].idx] = newCP + utf8.RuneCountInString(s[prev:refs[r].b])
			r++
		}
		emit(s[prev:e.Start])
		at := newCP
		emit(e.Repl)
		// offsets strictly inside the span go to the replacement's start;
		// one exactly at End is handled with the next run.
		for r < len(refs) && refs[r].b < e.End {
			offsets[refs[r].idx] = at
			r++
		}
		prev = e.End
	}
	for ; r < len(refs); r++ {
		offsets[refs[r].idx] = newCP + utf8.RuneCountInString(s[prev:refs[r].b])
	}
	emit(s[prev:])
	return string(out), offsets
}

// RewriteSample applies rules in order to the sample's instruction and
// response, keeping every Placement on the same surrounding text, and
// returns how many edits each rule made (rules that made none are absent).
func RewriteSample(s *shards.Sample, rules []TextRule) map[string]int {
	counts := map[string]int{}
	for _, field := range []string{shards.FieldInstruction, shards.FieldResponse} {
		text := &s.Instruction
		if field == shards.FieldResponse {
			text = &s.Response
		}
		var idx []int
		var offs []int
		for i, p := range s.Placements {
			if p.Field == field {
				idx = append(idx, i)
				offs = append(offs, p.Offset)
			}
		}
		for _, rule := range rules {
			edits := rule.Edits(*text)
			if len(edits) == 0 {
				continue
			}
			counts[rule.Name] += len(edits)
			*text, offs = ApplyEdits(*text, edits, offs)
		}
		for k, i := range idx {
			s.Placements[i].Offset = offs[k]
		}
	}
	return counts
}

// RewriteText applies rules to a bare string (no placements).
func RewriteText(text string, rules []TextRule) (string, map[string]int) {
	s := shards.Sample{Response: text}
	c := RewriteSample(&s, rules)
	return s.Response, c
}

// regexRule builds a rule replacing every match of re by repl(text, match
// indices). Returning the match itself unchanged skips it.
func regexRule(name string, re *regexp.Regexp, repl func(s string, m []int) string) TextRule {
	return TextRule{Name: name, Edits: func(s string) []Edit {
		var out []Edit
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			r := repl(s, m)
			if r == s[m[0]:m[1]] {
				continue
			}
			out = append(out, Edit{m[0], m[1], r})
		}
		return out
	}}
}

func constRepl(r string) func(string, []int) string {
	return func(string, []int) string { return r }
}

package jats

import (
	"regexp"
	"strings"
	"unicode"
)

// panelTok is one panel label found in a caption: the letters (or word) it
// names and where it sits (byte offsets).
type panelTok struct {
	labels     []string
	start, end int
	// atSegStart: the label opens the caption or a sentence/clause, so the
	// text after it describes the panel ("(A) Axial CT…"); otherwise the
	// label closes the text it follows ("Axial CT (A).").
	atSegStart bool
}

var (
	parenLetterRe = regexp.MustCompile(`\(([A-Za-z])((?:\s*(?:,|and|&|–|-|—|to)\s*[A-Za-z])*)\)`)
	rangeSepRe    = regexp.MustCompile(`\s*(,|and|&|–|-|—|to)\s*`)
	panelWordRe   = regexp.MustCompile(`(?i)(\()?\b(left|right|top|bottom|upper|lower|middle|center|centre)\b(\))?(\s+(panels?|images?|column|row|side))?([:,.)])?`)
)

// SplitPanels detects panel labels in a figure caption — "(A)", "(a–c)",
// "A,", "B.", "a)", "Left:"/"(right)" — and splits the caption into one
// sub-caption per panel. A figure is compound when at least two distinct
// panels are found in order (A then B…; letters must start at a/A and not
// skip), which keeps "vitamin A" or "(n)" from splitting a caption. Text
// before the first label is shared and not repeated in the panels.
func SplitPanels(caption string) ([]Panel, bool) {
	if caption == "" {
		return nil, false
	}
	for _, find := range []func(string) []panelTok{parenPanels, letterPanels, wordPanels} {
		toks := validSequence(find(caption))
		if len(toks) >= 2 {
			return cutPanels(caption, toks), true
		}
	}
	return nil, false
}

func segStart(s string, at int) bool {
	p := strings.TrimRight(s[:at], " ")
	if p == "" {
		return true
	}
	last := p[len(p)-1]
	return last == '.' || last == ';' || last == ':'
}

func parenPanels(s string) []panelTok {
	var out []panelTok
	for _, m := range parenLetterRe.FindAllStringSubmatchIndex(s, -1) {
		first := s[m[2]:m[3]]
		labels := []string{first}
		if m[4] < m[5] {
			rest := s[m[4]:m[5]]
			seps := rangeSepRe.FindAllStringSubmatchIndex(rest, -1)
			var letters []string
			for k, sp := range seps {
				end := len(rest)
				if k+1 < len(seps) {
					end = seps[k+1][0]
				}
				letters = append(letters, strings.TrimSpace(rest[sp[1]:end]))
				isRange := strings.ContainsAny(rest[sp[2]:sp[3]], "–-—") || rest[sp[2]:sp[3]] == "to"
				if isRange && len(letters[len(letters)-1]) == 1 {
					prev := labels[len(labels)-1][0]
					to := letters[len(letters)-1][0]
					for c := prev + 1; c < to; c++ {
						labels = append(labels, string(c))
					}
				}
				labels = append(labels, letters[len(letters)-1])
			}
		}
		out = append(out, panelTok{labels: labels, start: m[0], end: m[1], atSegStart: segStart(s, m[0])})
	}
	return out
}

// letterPanels finds unbracketed single letters used as labels: "a)" anywhere,
// "A." / "A:" at the start of a sentence or clause, and "A," followed by a
// word that is not itself a single letter (so "A, B and C" is a list).
func letterPanels(s string) []panelTok {
	var out []panelTok
	for i := 0; i+2 < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			continue
		}
		if i > 0 && s[i-1] != ' ' && s[i-1] != '(' {
			continue
		}
		delim := s[i+1]
		if !strings.ContainsRune(",.:)", rune(delim)) || s[i+2] != ' ' {
			continue
		}
		at := segStart(s, i)
		ok := false
		switch delim {
		case ')':
			ok = i == 0 || s[i-1] != '('
		case '.', ':':
			ok = at
		case ',':
			rest := strings.TrimLeft(s[i+2:], " ")
			w := rest
			if k := strings.IndexAny(rest, " ,.;:"); k >= 0 {
				w = rest[:k]
			}
			ok = len(w) > 1 && (at || unicode.IsUpper(rune(c)))
		}
		if ok {
			out = append(out, panelTok{labels: []string{string(c)}, start: i, end: i + 2, atSegStart: at || delim != ','})
			// After "A," the label starts its panel text even mid-sentence.
			out[len(out)-1].atSegStart = true
		}
	}
	return out
}

func wordPanels(s string) []panelTok {
	var out []panelTok
	for _, m := range panelWordRe.FindAllStringSubmatchIndex(s, -1) {
		paren := m[2] >= 0 && m[6] >= 0
		at := segStart(s, m[0])
		delim := m[12] >= 0 || m[8] >= 0
		if !(paren || at && delim) {
			continue
		}
		w := s[m[4]:m[5]]
		w = strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
		out = append(out, panelTok{labels: []string{w}, start: m[0], end: m[1], atSegStart: at})
	}
	return out
}

// validSequence keeps the tokens that introduce new panels in order. For
// letters: the first must be a/A, each new token must continue right after
// the highest letter seen, and case must not change. Repeated references to
// seen panels are dropped. For words: each word once.
func validSequence(toks []panelTok) []panelTok {
	if len(toks) == 0 {
		return nil
	}
	isWord := len(toks[0].labels[0]) > 1
	var out []panelTok
	if isWord {
		seen := map[string]bool{}
		for _, t := range toks {
			if !seen[t.labels[0]] {
				seen[t.labels[0]] = true
				out = append(out, t)
			}
		}
		return out
	}
	var maxSeen byte
	upper := false
	for _, t := range toks {
		ok := true
		for _, l := range t.labels {
			if len(l) != 1 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		first := t.labels[0][0]
		lo := first | 0x20
		if maxSeen == 0 {
			if lo != 'a' {
				continue
			}
			upper = first < 'a'
		} else if (first < 'a') != upper || lo != maxSeen+1 {
			continue
		}
		// Labels within the token must increase.
		cur := lo
		for _, l := range t.labels[1:] {
			if l[0]|0x20 <= cur {
				ok = false
				break
			}
			cur = l[0] | 0x20
		}
		if !ok {
			continue
		}
		maxSeen = cur
		out = append(out, t)
	}
	return out
}

// cutPanels turns accepted tokens into sub-captions. Prefix style (the
// first label opens a clause): a panel's text runs from its label to the
// next label. Suffix style: from the previous label (or the start of the
// sentence) to its label.
func cutPanels(s string, toks []panelTok) []Panel {
	var out []Panel
	prefix := toks[0].atSegStart || !closesText(s[toks[0].end:])
	for k, t := range toks {
		var text string
		if prefix {
			end := len(s)
			if k+1 < len(toks) {
				end = toks[k+1].start
			}
			text = s[t.end:end]
		} else {
			from := 0
			if k > 0 {
				from = toks[k-1].end
			}
			seg := s[from:t.start]
			if i := lastSentenceStart(seg); i > 0 {
				seg = seg[i:]
			}
			text = seg
		}
		text = strings.Trim(text, " ,;:")
		text = strings.TrimPrefix(text, "and ")
		for _, suf := range []string{" and", " or", ","} {
			text = strings.TrimSuffix(text, suf)
		}
		text = strings.TrimSpace(text)
		for _, l := range t.labels {
			out = append(out, Panel{Label: l, Caption: text})
		}
	}
	return out
}

func lastSentenceStart(seg string) int {
	best := 0
	for i := 0; i+1 < len(seg); i++ {
		if (seg[i] == '.' || seg[i] == ';') && seg[i+1] == ' ' && i+2 < len(seg)-1 {
			best = i + 2
		}
	}
	return best
}

// closesText reports whether the text after a label shows the label closing
// the words before it: punctuation, "and"/"or", or the end.
func closesText(after string) bool {
	a := strings.TrimLeft(after, " ")
	return a == "" || strings.ContainsAny(a[:1], ".,;:)]") || strings.HasPrefix(a, "and ") || strings.HasPrefix(a, "or ")
}

package jats

import (
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

// parenPanels finds "(A)", "(a, b)", "(C–E)", "(A and B)" by hand: a
// regexp here was a tenth of the parser's time.
func parenPanels(s string) []panelTok {
	var out []panelTok
	for i := 0; i < len(s); i++ {
		if s[i] != '(' {
			continue
		}
		labels, end, ok := parenLabels(s, i+1)
		if !ok {
			continue
		}
		out = append(out, panelTok{labels: labels, start: i, end: end, atSegStart: segStart(s, i)})
		i = end - 1
	}
	return out
}

// parenLabels parses letters and separators after "(" up to ")"; ranges
// ("C–E", "C to E") are expanded.
func parenLabels(s string, k int) ([]string, int, bool) {
	var labels []string
	isRange := false
	for {
		if k >= len(s) || !isASCIILetter(s[k]) || k+1 < len(s) && isASCIILetter(s[k+1]) {
			return nil, 0, false
		}
		c := s[k]
		if isRange && len(labels) > 0 {
			for x := labels[len(labels)-1][0] + 1; x < c; x++ {
				labels = append(labels, string(x))
			}
		}
		labels = append(labels, s[k:k+1])
		k++
		for k < len(s) && s[k] == ' ' {
			k++
		}
		if k < len(s) && s[k] == ')' {
			return labels, k + 1, true
		}
		isRange = false
		switch rest := s[k:]; {
		case strings.HasPrefix(rest, ","), strings.HasPrefix(rest, "&"):
			k++
		case strings.HasPrefix(rest, "and "):
			k += 3
		case strings.HasPrefix(rest, "to "):
			k, isRange = k+2, true
		case strings.HasPrefix(rest, "-"):
			k, isRange = k+1, true
		case strings.HasPrefix(rest, "–"), strings.HasPrefix(rest, "—"):
			k, isRange = k+len("–"), true
		default:
			return nil, 0, false
		}
		for k < len(s) && s[k] == ' ' {
			k++
		}
	}
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

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

var panelWords = map[string]string{
	"left": "Left", "right": "Right", "top": "Top", "bottom": "Bottom", "upper": "Upper",
	"lower": "Lower", "middle": "Middle", "center": "Center", "centre": "Centre",
}

// wordPanels finds position words used as labels: "(left)", or at the start
// of a clause followed by ":", ",", ".", ")" or "panel"/"image"/"column"/
// "row"/"side".
func wordPanels(s string) []panelTok {
	var out []panelTok
	for i := 0; i < len(s); i++ {
		if !isASCIILetter(s[i]) || i > 0 && isASCIILetter(s[i-1]) {
			continue
		}
		j := i
		for j < len(s) && isASCIILetter(s[j]) {
			j++
		}
		w, ok := panelWords[strings.ToLower(s[i:j])]
		if !ok || j-i > 6 {
			i = j
			continue
		}
		paren := i > 0 && s[i-1] == '(' && j < len(s) && s[j] == ')'
		start, end := i, j
		if paren {
			start, end = i-1, j+1
		}
		at := segStart(s, start)
		rest := s[end:]
		delim := len(rest) > 0 && strings.IndexByte(":,.)", rest[0]) >= 0
		for _, suf := range []string{" panel", " image", " column", " row", " side"} {
			if strings.HasPrefix(strings.ToLower(rest), suf) {
				delim = true
				end += len(suf)
				if end < len(s) && s[end] == 's' {
					end++
				}
				break
			}
		}
		if !paren && delim && end < len(s) && strings.IndexByte(":,.)", s[end]) >= 0 {
			end++
		}
		if paren || at && delim {
			out = append(out, panelTok{labels: []string{w}, start: start, end: end, atSegStart: at})
		}
		i = j
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

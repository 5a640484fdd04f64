package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// llama3Pattern is the Split pre-tokenizer regex of LLaMA-3's
// tokenizer.json (tiktoken's cl100k_base pattern). splitLlama3 implements
// it by hand: Go's regexp has no lookahead for its \s+(?!\S) branch.
const llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// splitLlama3 splits text into the matches of llama3Pattern, tried in the
// pattern's order at each position as a backtracking regex engine does
// (leftmost, first alternative that matches). The matches tile text.
func splitLlama3(text string) []span {
	n := len(text)
	at := func(i int) (rune, int) {
		if i >= n {
			return -1, 0
		}
		return utf8.DecodeRuneInString(text[i:])
	}
	isL := func(r rune) bool { return r >= 0 && unicode.IsLetter(r) }
	isN := func(r rune) bool { return r >= 0 && unicode.IsNumber(r) }
	isS := func(r rune) bool { return r >= 0 && unicode.IsSpace(r) }
	isNL := func(r rune) bool { return r == '\r' || r == '\n' }
	letters := func(j int) int {
		for {
			r, sz := at(j)
			if !isL(r) {
				return j
			}
			j += sz
		}
	}
	var out []span
	for i := 0; i < n; {
		r, sz := at(i)
		end := -1
		// (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if r == '\'' {
			for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
				if j := i + 1 + len(c); j <= n && asciiFoldEq(text[i+1:j], c) {
					end = j
					break
				}
			}
		}
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if end < 0 {
			if isL(r) {
				end = letters(i + sz)
			} else if !isNL(r) && !isN(r) {
				if r2, sz2 := at(i + sz); isL(r2) {
					end = letters(i + sz + sz2)
				}
			}
		}
		// \p{N}{1,3}
		if end < 0 && isN(r) {
			end = i + sz
			for k := 1; k < 3; k++ {
				r2, sz2 := at(end)
				if !isN(r2) {
					break
				}
				end += sz2
			}
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
		if end < 0 {
			j := i
			if r == ' ' {
				j++
			}
			k := j
			for {
				r2, sz2 := at(k)
				if r2 < 0 || isS(r2) || isL(r2) || isN(r2) {
					break
				}
				k += sz2
			}
			if k > j {
				for k < n && isNL(rune(text[k])) {
					k++
				}
				end = k
			}
		}
		if end < 0 && isS(r) {
			// The whitespace run [i, j) and its last \r or \n.
			j, lastNL := i, -1
			for {
				r2, sz2 := at(j)
				if !isS(r2) {
					break
				}
				if isNL(r2) {
					lastNL = j
				}
				j += sz2
			}
			switch {
			case lastNL >= 0: // \s*[\r\n]+: \s* backs off to the last newline
				end = lastNL + 1
			case j == n: // \s+(?!\S) at the end of text
				end = j
			default:
				// \s+(?!\S) leaves the last space to the next word; a
				// single space falls through to \s+.
				_, lsz := utf8.DecodeLastRuneInString(text[i:j])
				end = j - lsz
				if end == i {
					end = j
				}
			}
		}
		if end < 0 {
			end = i + sz // not reachable: every rune matches some branch
		}
		out = append(out, span{i, end})
		i = end
	}
	return out
}

// asciiFoldEq reports whether s equals the lower-case ASCII word w, ignoring
// ASCII case.
func asciiFoldEq(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

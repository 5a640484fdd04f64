package jats

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// namedEntities are the XML predefined entities plus the HTML/ISO ones that
// JATS DTDs define and that show up unexpanded in real files (PMC's own
// output uses numeric references, but publisher XML does not always).
var namedEntities = map[string]string{
	"amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'",
	"nbsp": "\u00a0", "ndash": "–", "mdash": "—", "hellip": "…",
	"lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”",
	"deg": "°", "plusmn": "±", "times": "×", "micro": "µ", "middot": "·",
	"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "kappa": "κ",
	"lambda": "λ", "mu": "μ", "sigma": "σ", "le": "≤", "ge": "≥",
	"thinsp": "\u2009", "minus": "−", "prime": "′", "copy": "©", "reg": "®",
	"trade": "™", "sect": "§", "para": "¶", "eacute": "é", "uuml": "ü",
	"ouml": "ö", "auml": "ä", "szlig": "ß",
}

// decodeEntities expands character and entity references in s. Unknown or
// malformed references are kept literally, so no text is ever lost.
func decodeEntities(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for {
		amp := strings.IndexByte(s, '&')
		if amp < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:amp])
		s = s[amp:]
		semi := strings.IndexByte(s, ';')
		if semi < 0 || semi > 32 {
			b.WriteByte('&')
			s = s[1:]
			continue
		}
		ref := s[1:semi]
		if r, ok := charRef(ref); ok {
			b.WriteRune(r)
			s = s[semi+1:]
			continue
		}
		if v, ok := namedEntities[ref]; ok {
			b.WriteString(v)
			s = s[semi+1:]
			continue
		}
		b.WriteByte('&')
		s = s[1:]
	}
}

// charRef decodes "#123" or "#x7B". Invalid code points (surrogates, out of
// range, NUL) become U+FFFD rather than failing.
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	var v uint64
	var err error
	if ref[1] == 'x' || ref[1] == 'X' {
		v, err = strconv.ParseUint(ref[2:], 16, 32)
	} else {
		v, err = strconv.ParseUint(ref[1:], 10, 32)
	}
	if err != nil {
		return 0, false
	}
	r := rune(v)
	if v == 0 || !utf8.ValidRune(r) {
		return utf8.RuneError, true
	}
	return r, true
}

// textBuf accumulates text with XML whitespace collapsed to single spaces and
// leading whitespace dropped; String trims the trailing space.
type textBuf struct {
	b         []byte
	pendSpace bool
}

func (t *textBuf) WriteString(s string) {
	for len(s) > 0 {
		// Copy the run up to the next whitespace byte in one append.
		i := 0
		for i < len(s) && !wsByte[s[i]] {
			i++
		}
		if i > 0 {
			if t.pendSpace {
				if len(t.b) > 0 {
					t.b = append(t.b, ' ')
				}
				t.pendSpace = false
			}
			t.b = append(t.b, s[:i]...)
			s = s[i:]
			continue
		}
		switch c := s[0]; {
		case c == 0xc2:
			if len(s) > 1 && s[1] == 0xa0 { // NBSP counts as space
				t.pendSpace = true
				s = s[2:]
				continue
			}
			if t.pendSpace {
				if len(t.b) > 0 {
					t.b = append(t.b, ' ')
				}
				t.pendSpace = false
			}
			t.b = append(t.b, c)
			s = s[1:]
		default:
			t.pendSpace = true
			s = s[1:]
		}
	}
}

// wsByte marks the bytes WriteString treats specially: XML whitespace and
// 0xC2, the first byte of NBSP.
var wsByte = [256]bool{' ': true, '\n': true, '\t': true, '\r': true, 0xc2: true}

// Space requests a word break (e.g. between block children).
func (t *textBuf) Space() { t.pendSpace = true }

// Raw appends s with no whitespace processing (markers).
func (t *textBuf) Raw(s string) {
	if t.pendSpace {
		if len(t.b) > 0 {
			t.b = append(t.b, ' ')
		}
		t.pendSpace = false
	}
	t.b = append(t.b, s...)
}

func (t *textBuf) Len() int { return len(t.b) }

func (t *textBuf) String() string { return string(t.b) }

func (t *textBuf) Reset() { t.b = t.b[:0]; t.pendSpace = false }

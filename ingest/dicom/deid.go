package dicom

import (
	"math/big"
	"path/filepath"
	"strings"

	"github.com/medmd/medmd/shards"
)

// PseudoUID replaces a DICOM UID (Study, Series, SOP Instance, Frame of
// Reference) by a UID under the 2.25 root (PS3.5 §B.2: a UUID-derived
// decimal): the first 128 bits of the keyed pseudonym of uid
// (shards.Pseudonym, under MEDMD_PSEUDONYM_KEY). The same input UID gives
// the same output UID across a corpus, so grouping by series or study
// still works, and without the key it cannot be matched to the original.
// "" stays "".
func PseudoUID(uid string) string {
	if uid == "" {
		return ""
	}
	h := shards.Pseudonym("uid", uid)
	n, ok := new(big.Int).SetString(h[:32], 16)
	if !ok {
		return "2.25.0"
	}
	return "2.25." + n.String()
}

// pathMasker rewrites paths for anything medmd writes: relative to the
// source root, with every segment that carries a patient identifier (a
// PatientID or a component of a PatientName seen by the scan) replaced by
// "p-" and the first 16 hex digits of its keyed pseudonym. Identifiers
// shorter than 3 characters are not looked for (they would match
// everywhere and identify no one).
type pathMasker struct {
	base   string
	tokens []string // lower-case identifiers
}

func newPathMasker(base string, hdrs []*Header) *pathMasker {
	m := &pathMasker{base: base}
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) >= 3 && !seen[s] {
			seen[s] = true
			m.tokens = append(m.tokens, s)
		}
	}
	for _, h := range hdrs {
		add(h.PatientID)
		for _, p := range strings.FieldsFunc(h.PatientName, func(r rune) bool { return r == '^' || r == '=' || r == ' ' }) {
			add(p)
		}
	}
	return m
}

// segment masks one path segment.
func (m *pathMasker) segment(seg string) string {
	low := strings.ToLower(seg)
	for _, t := range m.tokens {
		if strings.Contains(low, t) {
			return "p-" + shards.Pseudonym("path-patient", seg)[:16]
		}
	}
	return seg
}

// rel is path p relative to the source root, masked.
func (m *pathMasker) rel(p string) string {
	if r, err := filepath.Rel(m.base, p); err == nil {
		p = r
	}
	parts := strings.Split(filepath.ToSlash(p), "/")
	for i, s := range parts {
		parts[i] = m.segment(s)
	}
	return strings.Join(parts, "/")
}

// ref is a Ref's report name (path, or archive!member), masked.
func (m *pathMasker) ref(r Ref) string {
	if r.Member == "" {
		return m.rel(r.Path)
	}
	member := strings.Split(r.Member, "/")
	for i, s := range member {
		member[i] = m.segment(s)
	}
	return m.rel(r.Path) + "!" + strings.Join(member, "/")
}

// text masks every occurrence of an identifier and of the source root in
// a message (an error naming a file).
func (m *pathMasker) text(s string) string {
	if m.base != "" {
		s = strings.ReplaceAll(s, m.base+string(filepath.Separator), "")
	}
	low := strings.ToLower(s)
	for _, t := range m.tokens {
		for {
			i := strings.Index(low, t)
			if i < 0 {
				break
			}
			rep := "p-" + shards.Pseudonym("path-patient", t)[:16]
			s = s[:i] + rep + s[i+len(t):]
			low = low[:i] + rep + low[i+len(t):]
		}
	}
	return s
}

// maskedError is an error whose message went through a pathMasker; it
// unwraps to the original so callers still branch on its kind.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

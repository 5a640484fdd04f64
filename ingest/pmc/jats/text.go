package jats

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// abbreviations that end with a period without ending a sentence (lower
// case, without the period). Scientific prose is full of them.
var abbreviations = map[string]bool{
	"fig": true, "figs": true, "al": true, "e.g": true, "i.e": true, "eg": true,
	"ie": true, "vs": true, "no": true, "nos": true, "ref": true, "refs": true,
	"approx": true, "ca": true, "dr": true, "mr": true, "mrs": true, "ms": true,
	"prof": true, "sp": true, "spp": true, "st": true, "eq": true, "eqs": true,
	"cf": true, "resp": true, "var": true, "subsp": true, "inc": true,
	"ltd": true, "co": true, "vol": true, "pp": true, "suppl": true,
	"sect": true, "tab": true, "jan": true, "feb": true, "mar": true,
	"apr": true, "jun": true, "jul": true, "aug": true, "sep": true,
	"sept": true, "oct": true, "nov": true, "dec": true, "etc": true,
	"viz": true, "cv": true, "ssp": true, "ph.d": true, "m.d": true,
	"u.s": true, "dept": true, "univ": true, "min": true, "max": true,
	"mol": true, "wt": true, "conc": true, "temp": true, "exp": true,
}

// SplitSentences splits one paragraph into sentences, returning [start,
// end) code-point spans that cover the paragraph without gaps except the
// spaces between sentences. A boundary is '.', '!' or '?' (plus closing
// quotes or brackets) followed by space and then an upper-case letter, a
// digit or an opening bracket — unless the word before is a known
// abbreviation ("Fig.", "et al.", "e.g.") or a single letter (an initial).
func SplitSentences(s string) []Span {
	var out []Span
	start := 0 // code points
	r := 0     // code point index of byte i
	for i := 0; i < len(s); {
		c := s[i]
		if c != '.' && c != '!' && c != '?' {
			// Count code points by their first bytes; no decoding needed.
			if c < 0x80 || c >= 0xC0 {
				r++
			}
			i++
			continue
		}
		// Include closing punctuation.
		j, rj := i+1, r+1
		for j < len(s) {
			c2, w2 := utf8.DecodeRuneInString(s[j:])
			if !strings.ContainsRune(")]\"'”’", c2) {
				break
			}
			j += w2
			rj++
		}
		if j < len(s) && s[j] == ' ' {
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			next, _ := utf8.DecodeRuneInString(s[k:])
			if k < len(s) && (unicode.IsUpper(next) || unicode.IsDigit(next) || strings.ContainsRune("([\"“‘", next)) &&
				(c != '.' || !isAbbrevBefore(s[:i])) {
				out = append(out, Span{start, rj})
				start = rj + (k - j)
				r = start
				i = k
				continue
			}
		}
		i, r = j, rj
	}
	if start < r {
		out = append(out, Span{start, r})
	}
	return out
}

// isAbbrevBefore reports whether the word that ends prefix (just before a
// period) is an abbreviation or an initial.
func isAbbrevBefore(prefix string) bool {
	k := strings.LastIndexAny(prefix, " (/[")
	w := prefix[k+1:]
	if w == "" {
		return false
	}
	if utf8.RuneCountInString(w) == 1 {
		r, _ := utf8.DecodeRuneInString(w)
		return unicode.IsUpper(r)
	}
	return abbreviations[strings.ToLower(w)]
}

// NormalizeLicense turns what an article says about its licence into a short
// code: "CC BY 4.0", "CC BY-NC-ND 3.0", "CC0", "CC PDM 1.0" (the Creative
// Commons Public Domain Mark, a licence SPDX lists), "public domain" (said
// without the Mark's URL), or "" when nothing is recognised. The URL wins
// over the type attribute, which wins over the licence text.
func NormalizeLicense(url, licenseType, text string) string {
	u := strings.ToLower(url)
	if i := strings.Index(u, "creativecommons.org/"); i >= 0 {
		rest := strings.Trim(u[i+len("creativecommons.org/"):], "/")
		parts := strings.Split(rest, "/")
		switch {
		case len(parts) >= 2 && parts[0] == "licenses":
			code := "CC " + strings.ToUpper(parts[1])
			if len(parts) >= 3 && parts[2] != "" && parts[2] != "legalcode" && !strings.HasPrefix(parts[2], "deed") {
				code += " " + parts[2]
				// A ported licence (by/3.0/us/) is another licence than
				// the unported one: keep its jurisdiction.
				if len(parts) >= 4 && ccPortRe.MatchString(parts[3]) {
					code += " " + strings.ToUpper(parts[3])
				}
			}
			return code
		case len(parts) >= 2 && parts[0] == "publicdomain" && parts[1] == "zero":
			return "CC0"
		case len(parts) >= 2 && parts[0] == "publicdomain" && parts[1] == "mark":
			// The Mark has one version; the code keeps it so the sample's
			// SPDX identifier is CC-PDM-1.0 rather than PMC's own ref.
			return "CC PDM 1.0"
		}
	}
	lt := strings.ToLower(licenseType)
	if lt == "public-domain" || lt == "publicdomain" {
		return "public domain"
	}
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "cc0") || strings.Contains(t, "public domain dedication"):
		return "CC0"
	case strings.Contains(t, "attribution-noncommercial-noderivs") || strings.Contains(t, "attribution-noncommercial-noderivatives") || strings.Contains(t, "attribution non-commercial no derivatives"):
		return "CC BY-NC-ND"
	case strings.Contains(t, "attribution-noncommercial-sharealike"):
		return "CC BY-NC-SA"
	case strings.Contains(t, "attribution-noncommercial") || strings.Contains(t, "attribution non-commercial") || strings.Contains(t, "non-commercial license"):
		return "CC BY-NC"
	case strings.Contains(t, "attribution-sharealike"):
		return "CC BY-SA"
	case strings.Contains(t, "attribution-noderivs") || strings.Contains(t, "attribution-noderivatives"):
		return "CC BY-ND"
	case strings.Contains(t, "creative commons attribution"):
		return "CC BY"
	case strings.Contains(t, "public domain"):
		return "public domain"
	}
	return ""
}

// ccPortRe matches the jurisdiction of a ported Creative Commons licence
// URL (creativecommons.org/licenses/by/3.0/us/, …/3.0/igo/).
var ccPortRe = regexp.MustCompile(`^([a-z]{2}|igo)$`)

// LicenseFamily drops the version (and a ported licence's jurisdiction)
// from a licence code ("CC BY 2.0" → "CC BY", "CC BY 3.0 US" → "CC BY")
// and upper-cases it, so OA-list codes and article codes compare. The
// Public Domain Mark ("CC PDM 1.0") is of the "PUBLIC DOMAIN" family: PMC's
// lists and licence filters say "public domain" for the same articles.
func LicenseFamily(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	if c == "CC PDM" || strings.HasPrefix(c, "CC PDM ") || strings.HasPrefix(c, "CC-PDM") {
		return "PUBLIC DOMAIN"
	}
	if f := strings.Fields(c); (len(f) == 3 || len(f) == 4) && f[0] == "CC" && f[2] != "" && (f[2][0] >= '0' && f[2][0] <= '9') {
		return f[0] + " " + f[1]
	}
	return c
}

var (
	caseSubjectRe = regexp.MustCompile(`(?i)\bcase (report|study|presentation)s?\b|\bclinical case\b`)
	caseTitleRe   = regexp.MustCompile(`(?i)\ba case report\b|\bcase report\b\s*$|^case report`)
	// caseSectionRe matches the titles publishers give the case itself.
	caseSectionRe = regexp.MustCompile(`(?i)^(the )?(case|cases|patient|patients)( \d+| [ivx]+)?( (presentation|report|description|history|summary|details|study|illustration|reports))?\b|^(clinical|case) (presentation|history|summary|case|findings)|^presentation of (the )?case|^case( report)?s?:`)
)

func isCaseReport(a *Article) bool {
	if strings.EqualFold(a.ArticleType, "case-report") {
		return true
	}
	for _, s := range a.Subjects {
		if caseSubjectRe.MatchString(s) {
			return true
		}
	}
	return caseTitleRe.MatchString(a.Title)
}

// caseSpans picks the sections that present the case; the whole body when
// none is titled as such.
func caseSpans(a *Article) []Span {
	var out []Span
	covered := -1
	for _, s := range a.Sections {
		if s.Offset < covered {
			continue // nested in a section already taken
		}
		if caseSectionRe.MatchString(strings.TrimSpace(s.Title)) && s.End > s.Offset {
			out = append(out, Span{s.Offset, s.End})
			covered = s.End
		}
	}
	if len(out) == 0 && a.BodyText != "" {
		out = append(out, Span{0, utf8.RuneCountInString(a.BodyText)})
	}
	return out
}

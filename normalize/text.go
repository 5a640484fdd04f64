package normalize

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NFCRule rewrites text to Unicode Normalization Form C. It edits only the
// normalisation segments that change (a segment runs from one starter with
// a boundary before it to the next), so placements elsewhere stay put.
var NFCRule = TextRule{Name: "nfc", Edits: func(s string) []Edit {
	if norm.NFC.IsNormalString(s) {
		return nil
	}
	var out []Edit
	start := 0
	flush := func(end int) {
		if end > start {
			seg := s[start:end]
			if n := norm.NFC.String(seg); n != seg {
				out = append(out, Edit{start, end, n})
			}
		}
		start = end
	}
	for i := 0; i < len(s); {
		if i > start && norm.NFC.PropertiesString(s[i:]).BoundaryBefore() {
			flush(i)
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	flush(len(s))
	return out
}}

var (
	reCRLF      = regexp.MustCompile(`\r\n?`)
	reZeroWidth = regexp.MustCompile(`[\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}\x{00AD}]+`)
	// reHSpace matches whitespace runs other than a lone ASCII space (so the
	// common case, one space between words, costs no match).
	reHSpace    = regexp.MustCompile(`(?: [ \t\f\v\x{00A0}\x{1680}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}\x{2028}\x{2029}]+|[\t\f\v\x{00A0}\x{1680}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}\x{2028}\x{2029}][ \t\f\v\x{00A0}\x{1680}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}\x{2028}\x{2029}]*)`)
	reLineEdge  = regexp.MustCompile(` ?\n ?`)
	reManyNL    = regexp.MustCompile(`\n{3,}`)
	reSpacePunc = regexp.MustCompile(` +([.,;:!?)\]])`)
	reOpenSpace = regexp.MustCompile(`([(\[]) +`)
)

// WhitespaceRules normalise whitespace: CR/CRLF → LF; zero-width
// characters and soft hyphens removed; runs of spaces, tabs and Unicode
// spaces → one space; spaces around line breaks dropped; 3+ line breaks →
// one blank line; no space before closing punctuation; empty brackets left
// by other rules removed; text trimmed.
var WhitespaceRules = []TextRule{
	regexRule("crlf", reCRLF, constRepl("\n")),
	regexRule("zero_width", reZeroWidth, constRepl("")),
	regexRule("space_run", reHSpace, constRepl(" ")),
	{Name: "empty_brackets", Edits: emptyBrackets},
	regexRule("space_run", regexp.MustCompile(` {2,}`), constRepl(" ")),
	regexRule("open_space", reOpenSpace, func(s string, m []int) string { return s[m[2]:m[3]] }),
	regexRule("space_punct", reSpacePunc, func(s string, m []int) string { return s[m[2]:m[3]] }),
	regexRule("line_edge", reLineEdge, constRepl("\n")),
	regexRule("blank_lines", reManyNL, constRepl("\n\n")),
	{Name: "trim", Edits: trimEdits},
}

// BulletRule strips list markers at the start of a line: •, ◦, ▪, ‣, ⁃,
// ∙, ·, -, –, —, * and "1." / "1)" numbering.
var BulletRule = regexRule("bullet",
	regexp.MustCompile(`(?m)^[ \t]*(?:[•◦▪▫‣⁃∙·●○■□➢►▶✓✔*\-–—]|\d{1,2}[.)])[ \t]+`), constRepl(""))

// QAPrefixRule strips "Q:", "A:", "Question:" and "Answer:" at the start of
// a line (VQA sources put them in the text; medmd's instruction/response
// fields already say which is which).
var QAPrefixRule = regexRule("qa_prefix",
	regexp.MustCompile(`(?mi)^[ \t]*(?:Q|A|Question|Answer)[ \t]*[:：][ \t]*`), constRepl(""))

// reMeasurement matches one size measurement with its lead-in word.
var reMeasurement = regexp.MustCompile(
	`(?i)[ \t]?(?:\b(?:measuring|measures|measured|measurement of|sized|size of|approximately|approx\.|about|up to)[ \t]{1,3})?` +
		`\b\d{1,6}(?:[.,]\d{1,6})?(?:[ \t]{0,3}(?:-|–|to)[ \t]{0,3}\d{1,6}(?:[.,]\d{1,6})?)?` +
		`(?:[ \t]{0,3}(?:x|×|\*|by)[ \t]{0,3}\d{1,6}(?:[.,]\d{1,6})?){0,2}[ \t]{0,3}` +
		`(?:mm|cm|millimet(?:er|re)s?|centimet(?:er|re)s?)\b`)

// MeasurementRule removes size measurements ("3.2 x 2.1 cm",
// "measuring 5 mm", "approximately 12mm", "3 centimetres") as RadFM does
// for MedPix captions: sizes cannot be read off a resized image, so a
// model trained on them learns to invent numbers.
var MeasurementRule = TextRule{Name: "measurement", Edits: measurementEdits}

// measurementEdits runs reMeasurement (whose matches are bounded: at most
// 6 digits per number, 3 blanks per gap) only on windows around unit tokens
// that follow a digit (the regexp has no literal prefix, so scanning the
// whole text with it is slow). Windows start after whitespace (or at the
// text start) and end at a non-word byte, so \b matches as in the whole
// text; overlapping windows merge.
func measurementEdits(s string) []Edit {
	if !hasUnit(s) {
		return nil
	}
	var wins [][2]int
	for i := 1; i+1 < len(s); i++ {
		// Unit tokens start "mm", "cm", "mi" (millimetre) or "ce"
		// (centimetre); the regexp decides the rest.
		c0, c1 := s[i]|0x20, s[i+1]|0x20
		if !((c0 == 'm' || c0 == 'c') && (c1 == 'm' || c1 == 'i' || c1 == 'e')) {
			continue
		}
		// a digit before the unit, possibly across blanks
		j := i - 1
		for j >= 0 && (s[j] == ' ' || s[j] == '\t') {
			j--
		}
		if j < 0 || s[j] < '0' || s[j] > '9' {
			continue
		}
		a := max(0, j-100)
		for a > 0 && s[a-1] != ' ' && s[a-1] != '\n' && s[a-1] != '\t' {
			a--
		}
		b := min(len(s), i+16)
		for b < len(s) && isWordByte(s[b]) {
			b++
		}
		if n := len(wins); n > 0 && a <= wins[n-1][1] {
			wins[n-1][1] = b
		} else {
			wins = append(wins, [2]int{a, b})
		}
	}
	var out []Edit
	for _, w := range wins {
		for _, m := range reMeasurement.FindAllStringIndex(s[w[0]:w[1]], -1) {
			out = append(out, Edit{w[0] + m[0], w[0] + m[1], ""})
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || c >= 0x80
}

// refAtom is one figure/table reference: "Fig. 2A", "Figure 3A–C",
// "Table S1", "Supplementary Figure 2".
const refAtom = `(?:(?:Supplementary|Suppl\.?|Additional)[ \t]+)?(?:Fig(?:ure)?s?\.?|Tab(?:le)?s?\.?|File)[ \t]*S?\d+[A-Za-z]?(?:[ \t]*[-–][ \t]*S?\d*[A-Za-z]?)?`
const refList = refAtom + `(?:[ \t]*(?:,|and|&)[ \t]*(?:` + refAtom + `|S?\d+[A-Za-z]?(?:[-–][A-Za-z0-9]+)?|[A-Za-z]\b))*`

var (
	reCalloutParen  = regexp.MustCompile(`[ \t]*\([ \t]*(?:see[ \t]+)?` + refList + `(?:,[ \t]*[^()\[\];]{1,40})?[ \t]*\)`)
	reCalloutPrefix = regexp.MustCompile(`\([ \t]*(?:see[ \t]+)?` + refList + `[ \t]*;[ \t]*`)
	reCitation      = regexp.MustCompile(`[ \t]*\[\d+(?:[ \t]*[-–,][ \t]*\d+)*\](?:[ \t]*,?[ \t]*\[\d+(?:[ \t]*[-–,][ \t]*\d+)*\])*`)
)

// CalloutRules remove figure/table call-outs and numeric citations from
// captions and text: "(Fig. 2A)", "(Figure 3B and 3D)", "(Table S1)",
// "(Figure 1, dark arrows)" go entirely; "(Figure 2; p = 0.0043)" keeps
// "(p = 0.0043)"; "[12]", "[1-9]", "[9], [28]" go. Running text such as
// "as shown in Figure 2" is left alone (removing it breaks the sentence).
var CalloutRules = []TextRule{
	only(hasRefWord, regexRule("callout", reCalloutPrefix, constRepl("("))),
	only(hasRefWord, regexRule("callout", reCalloutParen, constRepl(""))),
	only(func(s string) bool { return strings.IndexByte(s, '[') >= 0 }, regexRule("citation", reCitation, constRepl(""))),
}

// TextOptions selects the cleaning rules of CleanRules.
type TextOptions struct {
	Bullets, QAPrefixes, Measurements, Callouts bool
}

// CleanRules returns the rules in the order they must run: NFC first, the
// optional removals, whitespace normalisation (it tidies the spaces the
// removals leave), and NFC once more.
func CleanRules(o TextOptions) []TextRule {
	rules := []TextRule{NFCRule}
	if o.Bullets {
		rules = append(rules, BulletRule)
	}
	if o.QAPrefixes {
		rules = append(rules, QAPrefixRule)
	}
	if o.Callouts {
		rules = append(rules, CalloutRules...)
	}
	if o.Measurements {
		rules = append(rules, MeasurementRule)
	}
	rules = append(rules, WhitespaceRules...)
	// Removing a character between a base and its combining mark (a
	// zero-width space, say) can make the text non-NFC again.
	return append(rules, NFCRule)
}

// De-identification tokens.
const (
	TokDate  = "[DATE]"
	TokPhone = "[PHONE]"
	TokEmail = "[EMAIL]"
	TokID    = "[ID]"
	TokName  = "[NAME]"
)

const month = `(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)`

var (
	reEmail = regexp.MustCompile(`\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b`)
	rePhone = regexp.MustCompile(`(?:^|[^\w(])((?:\+\d{1,3}[ .\-]?\(?\d{1,4}\)?(?:[ .\-]\d{2,4}){2,3}|\(\d{2,4}\)[ ]?\d{3,4}[ .\-]\d{4}|\d{3}[.\-]\d{3,4}[.\-]\d{4}))\b`)
	reDate  = regexp.MustCompile(`\b(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}-\d{1,2}-\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2}|\d{4}/\d{2}/\d{2}` +
		`|` + month + `\.?[ \t]+\d{1,2}(?:st|nd|rd|th)?,?[ \t]+\d{4}` +
		`|\d{1,2}(?:st|nd|rd|th)?[ \t]+` + month + `\.?,?[ \t]+\d{4})\b`)
	reMRN = regexp.MustCompile(`(?i)\b(?:MRN|medical[ \t]+record(?:[ \t]+(?:number|no\.?))?|patient[ \t]+(?:id|number|no\.?)|hospital[ \t]+(?:id|number|no\.?)|accession(?:[ \t]+(?:id|number|no\.?))?)[ \t]*(?:#|:|is)?[ \t]*[A-Z]*\d[A-Z0-9\-]{3,}\b` +
		`|\b\d{7,}\b`)
	// Group 1 is the title: "Dr"/"Mr"/… as written in prose (period
	// optional), or any other case ("DR.", "MRS.", "dr.") with the period
	// required — an all-caps report says "MR BRAIN" and "DR CHEST" for the
	// modalities and "MS" for multiple sclerosis, never as titles. Group 2
	// is the first name word, group 3 the optional second.
	reTitleName = regexp.MustCompile(`\b((?:Dr|Mr|Mrs|Ms|Prof)\.?|(?i:dr|mr|mrs|ms|prof)\.)[ \t]+([A-Z][a-zA-Z'’\-]+)(?:[ \t]+([A-Z][a-zA-Z'’\-]+))?`)
)

// DeidRules replace obvious identifiers with tokens: e-mail addresses,
// phone numbers, dates (numeric, ISO and "March 3, 2019" / "3 March 2019";
// a bare year is not a date), MRN-like numbers (a record/patient/accession
// keyword followed by an alphanumeric id with a digit — but not a
// GenBank-style sequence accession — or any run of 7+ digits not inside a
// DOI-like dotted/slashed identifier) and titled names ("Dr. Smith",
// "Mrs Jane Doe", upper-case "DR. SMITH"; see titledNames). RewriteSample's
// counts per rule name ("email", "phone", "date", "id", "name") are what
// the deidentify stage stores in Meta.
var DeidRules = []TextRule{
	only(func(s string) bool { return strings.IndexByte(s, '@') >= 0 }, regexRule("email", reEmail, constRepl(TokEmail))),
	only(hasDigit, regexRule("date", reDate, constRepl(TokDate))),
	only(hasDigit, TextRule{Name: "phone", Edits: func(s string) []Edit {
		var out []Edit
		for _, m := range rePhone.FindAllStringSubmatchIndex(s, -1) {
			out = append(out, Edit{m[2], m[3], TokPhone})
		}
		return out
	}}),
	only(hasDigit, regexRule("id", reMRN, func(s string, m []int) string {
		// A digit run inside a DOI or dotted/slashed identifier
		// ("10.1371/journal.pone.0046493") is not a record number.
		if m[0] > 0 && strings.IndexByte("./-", s[m[0]-1]) >= 0 && s[m[0]] >= '0' && s[m[0]] <= '9' {
			return s[m[0]:m[1]]
		}
		// A sequence-database accession ("GenBank accession no.
		// EF432310") is science, not a patient's record.
		if len(s)-m[0] >= 9 && strings.EqualFold(s[m[0]:m[0]+9], "accession") && seqDatabase(s[max(0, m[0]-24):m[0]]) {
			return s[m[0]:m[1]]
		}
		return TokID
	})),
	only(hasTitle, TextRule{Name: "name", Edits: titledNames}),
}

// titledNames finds the names reTitleName matches. A title not written
// "Dr"/"Mr"/… comes from an upper-case report, where every word is
// capitalised: the modality or disease abbreviation ending a sentence
// ("COMPARED WITH PRIOR MR. NO CHANGE.") is not a title, so a first word
// that is a common report word drops the match, and such a second word
// ("DR. SMITH AT 3 PM", "DR. JONES REVIEWED") is not taken as a surname.
// Prose titles keep the plain match.
func titledNames(s string) []Edit {
	var out []Edit
	for _, m := range reTitleName.FindAllStringSubmatchIndex(s, -1) {
		end := m[1]
		if t := s[m[2]:m[3]]; t[0] < 'A' || t[0] > 'Z' || len(t) > 1 && t[1] >= 'A' && t[1] <= 'Z' {
			if reportWords[strings.ToUpper(s[m[4]:m[5]])] {
				continue
			}
			if m[6] >= 0 && reportWords[strings.ToUpper(s[m[6]:m[7]])] {
				end = m[5]
			}
		}
		out = append(out, Edit{m[0], end, TokName})
	}
	return out
}

// reportWords are words that follow a title-like abbreviation in upper-case
// reports without being a name: function words, section headings and the
// usual first words of findings and of read-back phrases.
var reportWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`AN AND ARE AS AT BE BY FOR FROM HAS HAD HAVE IN IS IT OF ON OR TO VIA WAS WERE WHO WITH
		NO NOT THE THERE THESE THIS THAT THEN ALSO
		IMPRESSION FINDINGS FINDING COMPARISON TECHNIQUE HISTORY INDICATION CLINICAL CONCLUSION RECOMMENDATION
		EXAM EXAMINATION STUDY STUDIES IMAGES IMAGING SCAN SCANS SEQUENCES CONTRAST BRAIN HEAD CHEST SPINE ABDOMEN PELVIS
		STABLE UNCHANGED NORMAL NEGATIVE POSITIVE INTERVAL PREVIOUS PRIOR NEW
		REVIEWED NOTIFIED DISCUSSED CALLED INFORMED CONFIRMED AGREED AGREES ACKNOWLEDGED PAGED TELEPHONE PHONE`) {
		m[w] = true
	}
	return m
}()

// seqDatabase reports whether the text before an "accession" keyword
// names a public sequence or structure database.
func seqDatabase(before string) bool {
	for _, db := range []string{"GenBank", "EMBL", "ENA", "DDBJ", "RefSeq", "GEO", "SRA", "UniProt", "PDB", "ArrayExpress", "BioProject"} {
		if containsFold(before, db) {
			return true
		}
	}
	return false
}

// only skips rule on texts for which need is false: a cheap scan that
// rules out a match saves running the regular expression (Go's regexp
// runs at a few MB/s on patterns without a literal prefix).
func only(need func(string) bool, rule TextRule) TextRule {
	edits := rule.Edits
	rule.Edits = func(s string) []Edit {
		if !need(s) {
			return nil
		}
		return edits(s)
	}
	return rule
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func hasUnit(s string) bool {
	return hasDigit(s) && (containsFold(s, "mm") || containsFold(s, "cm") || containsFold(s, "met"))
}

func hasRefWord(s string) bool {
	return strings.IndexByte(s, '(') >= 0 && (containsFold(s, "fig") || containsFold(s, "tab") || containsFold(s, "file"))
}

// hasTitle is reTitleName's cheap pre-scan: a prose title, or a period
// after a title in any case ("DR.", "mrs.").
func hasTitle(s string) bool {
	if strings.Contains(s, "Dr") || strings.Contains(s, "Mr") || strings.Contains(s, "Ms") || strings.Contains(s, "Prof") {
		return true
	}
	for i := strings.IndexByte(s, '.'); i >= 0; {
		for _, t := range [...]string{"dr", "mr", "ms", "mrs", "prof"} {
			if i >= len(t) && strings.EqualFold(s[i-len(t):i], t) {
				return true
			}
		}
		j := strings.IndexByte(s[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// emptyBrackets removes "()" / "[ ]" pairs holding only whitespace, with
// one space before them (what call-out removal can leave behind).
func emptyBrackets(s string) []Edit {
	var out []Edit
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '(' && c != '[' {
			continue
		}
		want := byte(')')
		if c == '[' {
			want = ']'
		}
		j := i + 1
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n') {
			j++
		}
		if j < len(s) && s[j] == want {
			start := i
			if start > 0 && s[start-1] == ' ' && (len(out) == 0 || out[len(out)-1].End < start) {
				start--
			}
			out = append(out, Edit{start, j + 1, ""})
			i = j
		}
	}
	return out
}

// trimEdits removes leading and trailing spaces and line breaks.
func trimEdits(s string) []Edit {
	a := 0
	for a < len(s) && (s[a] == ' ' || s[a] == '\n') {
		a++
	}
	if a == len(s) {
		if a == 0 {
			return nil
		}
		return []Edit{{0, a, ""}}
	}
	b := len(s)
	for b > a && (s[b-1] == ' ' || s[b-1] == '\n') {
		b--
	}
	var out []Edit
	if a > 0 {
		out = append(out, Edit{0, a, ""})
	}
	if b < len(s) {
		out = append(out, Edit{b, len(s), ""})
	}
	return out
}

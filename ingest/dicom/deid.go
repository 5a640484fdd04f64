package dicom

import (
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
// PatientID, accession number, or a component of a PatientName seen by the
// scan) replaced whole by "p-" and the first 16 hex digits of its keyed
// pseudonym, a file name keeping its extension. Identifiers are matched as
// whole tokens (a segment is split on anything not a letter or digit, so
// "_", "-", "." and spaces separate), case-insensitively; an identifier of
// several tokens matches a run of them. Matching inside a token would
// rewrite "pydicom_x.dcm" for a patient called DICOM, and replacing only
// the matched text would leave the rest of a name-bearing segment behind
// (PS3.15 treats the whole file or folder name as identifying). Identifiers
// shorter than 3
// characters are not looked for (they would match everywhere and identify
// no one).
type pathMasker struct {
	base string
	ids  [][]string // lower-case identifiers, each split into tokens
}

// pathTokens splits s on every rune that is not a letter or digit.
func pathTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func newPathMasker(base string, hdrs []*Header) *pathMasker {
	m := &pathMasker{base: base}
	seen := map[string]bool{}
	add := func(s string) {
		toks := pathTokens(s)
		key := strings.Join(toks, " ")
		if len(strings.Join(toks, "")) >= 3 && !seen[key] {
			seen[key] = true
			m.ids = append(m.ids, toks)
		}
	}
	for _, h := range hdrs {
		add(h.PatientID)
		// Other IDs and names of the patient, and the accession number,
		// name folders in some archives too.
		for _, t := range []uint32{0x00101000, 0x00080050} {
			for _, v := range strings.Split(h.Attrs[t], `\`) {
				add(v)
			}
		}
		for _, n := range []string{h.PatientName, h.Attrs[0x00101001], h.Attrs[0x00101005]} {
			for _, p := range strings.FieldsFunc(n, func(r rune) bool { return r == '^' || r == '=' || r == '\\' }) {
				add(p)
				// A name part of several words (VAN DER BERG) may stand in a
				// folder name by its main word alone (Berg_John): its words
				// of four or more letters count on their own too.
				if toks := pathTokens(p); len(toks) > 1 {
					for _, t := range toks {
						if len(t) >= 4 {
							add(t)
						}
					}
				}
			}
		}
	}
	return m
}

// identifies reports whether the tokens of s contain an identifier as a
// run of whole tokens.
func (m *pathMasker) identifies(s string) bool {
	toks := pathTokens(s)
	for _, id := range m.ids {
		for i := 0; i+len(id) <= len(toks); i++ {
			if slices.Equal(toks[i:i+len(id)], id) {
				return true
			}
		}
	}
	return false
}

// segment masks one path segment: whole, so no part of a name survives.
func (m *pathMasker) segment(seg string) string {
	if !m.identifies(seg) {
		return seg
	}
	ext := filepath.Ext(seg)
	if ext == seg || m.identifies(ext) {
		ext = ""
	}
	return "p-" + shards.Pseudonym("path-patient", seg)[:16] + ext
}

// rel is path p relative to the source root, masked.
func (m *pathMasker) rel(p string) string {
	if r, err := filepath.Rel(m.base, p); err == nil {
		p = r
	}
	return m.segments(filepath.ToSlash(p))
}

// segments masks each "/"-separated segment of p.
func (m *pathMasker) segments(p string) string {
	parts := strings.Split(p, "/")
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
	return m.rel(r.Path) + "!" + m.segments(r.Member)
}

// textWordSep ends a word of a message: space, quotes, and the
// punctuation an error puts after a path ("open x: ...", "(x)", "x, y").
func textWordSep(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("\"'`:;,()[]{}<>!=", r)
}

// text masks a message (an error naming a file): the source root goes,
// and each word, split into path segments, is masked the way a path is,
// so a file name in the message reads as it does in a report, and an
// identifier in the prose is replaced whole too.
func (m *pathMasker) text(s string) string {
	if m.base != "" {
		s = strings.ReplaceAll(s, m.base+string(filepath.Separator), "")
	}
	if len(m.ids) == 0 {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexFunc(s, textWordSep)
		if i < 0 {
			i = len(s)
		}
		b.WriteString(m.segments(s[:i]))
		if i == len(s) {
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+n])
		s = s[i+n:]
	}
	return b.String()
}

// Date handling of DeidOptions.Dates.
const (
	DatesRemove = "remove" // no date or time is written
	DatesShift  = "shift"  // dates move back by a per-patient keyed number of days; times kept
	DatesKeep   = "keep"   // dates and times as in the file
)

// DeidOptions choose among the options PS3.15 Annex E defines on top of
// the Basic Application Level Confidentiality Profile.
type DeidOptions struct {
	// Dates is DatesRemove, DatesShift (the default, "" reads as shift:
	// the Retain Longitudinal Temporal Information with Modified Dates
	// Option) or DatesKeep (the Retain … with Full Dates Option).
	Dates string
	// KeepDescriptions keeps SeriesDescription, ProtocolName and
	// StudyDescription cleaned of every identifying value found in the
	// same file's header (the Clean Descriptors Option); otherwise they
	// are removed, as the Basic Profile does.
	KeepDescriptions bool
	// DropAgeSex leaves out PatientAge and PatientSex, which are kept by
	// default (the Retain Patient Characteristics Option, limited to age
	// and sex).
	DropAgeSex bool
}

func (o DeidOptions) dates() string {
	if o.Dates == "" {
		return DatesShift
	}
	return o.Dates
}

// action is what medmd does with one attribute's value.
type action string

const (
	actRemove  action = "removed"
	actReplace action = "replaced"
	actShift   action = "shifted"
	actClean   action = "cleaned"
	actKeep    action = "kept"
)

// deidAttr is one attribute of PS3.15 Table E.1-1 that medmd looks for in
// every header, with the column it falls under.
type deidAttr struct {
	tag  uint32
	name string
	kind string // "id" removed, "uid" replaced, "date"/"time" per Dates, "desc" per KeepDescriptions, "char" per DropAgeSex, "pid" replaced by a keyed pseudonym
}

// deidAttrs are the top-level attributes of Table E.1-1 a radiology
// archive carries in practice. Every one not listed as kept is never
// written anywhere; sequences (requests, referenced studies) are not read
// at all.
var deidAttrs = []deidAttr{
	{0x00080014, "InstanceCreatorUID", "id"},
	{0x00080016, "SOPClassUID", "keep"},
	{0x00080018, "SOPInstanceUID", "id"}, // not written: samples are per volume
	{0x00080020, "StudyDate", "date"},
	{0x00080021, "SeriesDate", "date"},
	{0x00080022, "AcquisitionDate", "date"},
	{0x00080023, "ContentDate", "date"},
	{0x0008002A, "AcquisitionDateTime", "id"},
	{0x00080030, "StudyTime", "time"},
	{0x00080031, "SeriesTime", "time"},
	{0x00080032, "AcquisitionTime", "time"},
	{0x00080033, "ContentTime", "time"},
	{0x00080050, "AccessionNumber", "id"},
	{0x00080080, "InstitutionName", "id"},
	{0x00080081, "InstitutionAddress", "id"},
	{0x00080090, "ReferringPhysicianName", "id"},
	{0x00080092, "ReferringPhysicianAddress", "id"},
	{0x00080094, "ReferringPhysicianTelephoneNumbers", "id"},
	{0x00081010, "StationName", "id"},
	{0x00081030, "StudyDescription", "desc"},
	{0x0008103E, "SeriesDescription", "desc"},
	{0x00081040, "InstitutionalDepartmentName", "id"},
	{0x00081048, "PhysiciansOfRecord", "id"},
	{0x00081050, "PerformingPhysicianName", "id"},
	{0x00081060, "NameOfPhysiciansReadingStudy", "id"},
	{0x00081070, "OperatorsName", "id"},
	{0x00084000, "IdentifyingComments", "id"},
	{0x00100010, "PatientName", "id"},
	{0x00100020, "PatientID", "pid"},
	{0x00100021, "IssuerOfPatientID", "id"},
	{0x00100030, "PatientBirthDate", "id"},
	{0x00100032, "PatientBirthTime", "id"},
	{0x00100040, "PatientSex", "char"},
	{0x00101000, "OtherPatientIDs", "id"},
	{0x00101001, "OtherPatientNames", "id"},
	{0x00101005, "PatientBirthName", "id"},
	{0x00101010, "PatientAge", "char"},
	{0x00101020, "PatientSize", "id"},
	{0x00101030, "PatientWeight", "id"},
	{0x00101040, "PatientAddress", "id"},
	{0x00101060, "PatientMotherBirthName", "id"},
	{0x00101090, "MedicalRecordLocator", "id"},
	{0x00102154, "PatientTelephoneNumbers", "id"},
	{0x00102160, "EthnicGroup", "id"},
	{0x00102180, "Occupation", "id"},
	{0x001021B0, "AdditionalPatientHistory", "id"},
	{0x00104000, "PatientComments", "id"},
	{0x00181000, "DeviceSerialNumber", "id"},
	{0x00181020, "SoftwareVersions", "id"},
	{0x00181030, "ProtocolName", "desc"},
	{0x0020000D, "StudyInstanceUID", "uid"},
	{0x0020000E, "SeriesInstanceUID", "uid"},
	{0x00200010, "StudyID", "id"},
	{0x00200052, "FrameOfReferenceUID", "uid"},
	{0x00204000, "ImageComments", "id"},
	{0x00321032, "RequestingPhysician", "id"},
	{0x00321060, "RequestedProcedureDescription", "id"},
	{0x00324000, "StudyComments", "id"},
	{0x00400244, "PerformedProcedureStepStartDate", "id"},
	{0x00400253, "PerformedProcedureStepID", "id"},
	{0x00400254, "PerformedProcedureStepDescription", "id"},
	{0x00401001, "RequestedProcedureID", "id"},
}

// tagBurnedIn is BurnedInAnnotation (0028,0301): YES means text that may
// identify the patient is part of the pixels.
const tagBurnedIn = 0x00280301

// readAttrs keeps the values of the deidAttrs (and BurnedInAnnotation)
// present at the top level of a header: the de-identification report
// counts them, descriptions are cleaned of them and paths masked by them.
func readAttrs(ix elemIndex) map[uint32]string {
	var m map[uint32]string
	put := func(t uint32) {
		if v := strings.TrimSpace(ix.str(t)); v != "" {
			if m == nil {
				m = map[uint32]string{}
			}
			m[t] = v
		}
	}
	for _, a := range deidAttrs {
		put(a.tag)
	}
	put(tagBurnedIn)
	return m
}

// burnedIn reports whether any image of the series declares burned-in
// annotation (PS3.15 E.1.1: the Basic Profile cannot clean pixels, so
// such images are left out).
func burnedIn(se *Series) bool {
	for _, sl := range se.Slices {
		if sl.Hdr != nil && strings.EqualFold(sl.Hdr.Attrs[tagBurnedIn], "YES") {
			return true
		}
	}
	return false
}

// burnedInReason is the exclusion reason counted in the plan summary.
const burnedInReason = "burned-in annotation"

// act is what o does with attribute a.
func (o DeidOptions) act(a deidAttr) action {
	switch a.kind {
	case "uid", "pid":
		return actReplace
	case "keep":
		return actKeep
	case "date":
		switch o.dates() {
		case DatesShift:
			return actShift
		case DatesKeep:
			return actKeep
		}
		return actRemove
	case "time":
		if o.dates() == DatesRemove {
			return actRemove
		}
		return actKeep
	case "desc":
		if o.KeepDescriptions {
			return actClean
		}
	case "char":
		if !o.DropAgeSex {
			return actKeep
		}
	}
	return actRemove
}

// DeidReport counts, per attribute, the values medmd removed, replaced,
// shifted, cleaned or kept over every image of a corpus's plan.
type DeidReport struct {
	Profile string                    `json:"profile"`
	Options map[string]string         `json:"options"`
	Images  int                       `json:"images"`
	Tags    map[string]map[string]int `json:"tags"` // "(0010,0010) PatientName" → action → images
	// Excluded counts images left out for what their pixels may show.
	Excluded map[string]int `json:"excluded,omitempty"`
}

func newDeidReport(o DeidOptions) *DeidReport {
	return &DeidReport{
		Profile: "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile",
		Options: map[string]string{"dates": o.dates(), "keep_descriptions": strconv.FormatBool(o.KeepDescriptions),
			"keep_age_sex": strconv.FormatBool(!o.DropAgeSex)},
		Tags: map[string]map[string]int{},
	}
}

// add counts the attributes of one image header.
func (r *DeidReport) add(o DeidOptions, h *Header) {
	r.Images++
	for _, a := range deidAttrs {
		if _, ok := h.Attrs[a.tag]; !ok {
			continue
		}
		k := tagKey(a)
		if r.Tags[k] == nil {
			r.Tags[k] = map[string]int{}
		}
		r.Tags[k][string(o.act(a))]++
	}
}

// tagKey names an attribute in the report: "(0010,0010) PatientName".
func tagKey(a deidAttr) string {
	return fmt.Sprintf("(%04X,%04X) %s", a.tag>>16, a.tag&0xFFFF, a.name)
}

// Summary is the report in one line: how many values of how many
// attributes were removed and replaced.
func (r *DeidReport) Summary() string {
	n := map[string]int{}
	for _, acts := range r.Tags {
		for a, c := range acts {
			n[a] += c
		}
	}
	s := fmt.Sprintf("de-identified %d images (%s): %d values removed, %d replaced, %d dates shifted, %d descriptions cleaned, %d kept",
		r.Images, r.Options["dates"]+" dates", n[string(actRemove)], n[string(actReplace)], n[string(actShift)], n[string(actClean)], n[string(actKeep)])
	if e := r.Excluded[burnedInReason]; e > 0 {
		s += fmt.Sprintf("; %d images with burned-in annotation excluded", e)
	}
	return s
}

// dateShiftDays is the per-patient offset of DatesShift: 1 to 3652 days
// back, from the patient's keyed pseudonym, so one patient's intervals
// survive and the offset is unknown without MEDMD_PSEUDONYM_KEY.
func dateShiftDays(h *Header) int {
	who := h.PatientID
	if who == "" {
		who = "study:" + h.StudyInstanceUID
	}
	p := shards.Pseudonym("date-shift", who)
	v, _ := strconv.ParseUint(p[:8], 16, 64)
	return 1 + int(v%3652)
}

// applyMeta makes series metadata what o allows: descriptions removed or
// cleaned, dates removed, shifted or kept, age and sex kept or dropped.
// m comes from Series.Meta, which holds no names or IDs.
func (o DeidOptions) applyMeta(m map[string]string, h *Header) {
	descs := map[string]uint32{"series_description": 0x0008103E, "protocol_name": 0x00181030, "study_description": 0x00081030}
	for k, t := range descs {
		delete(m, k)
		if v := h.Attrs[t]; v != "" && o.KeepDescriptions {
			if v = cleanDescription(v, h); v != "" {
				m[k] = v
			}
		}
	}
	dates := []struct {
		key string
		tag uint32
	}{{"study_date", 0x00080020}, {"series_date", 0x00080021}, {"acquisition_date", 0x00080022}}
	times := []struct {
		key string
		tag uint32
	}{{"study_time", 0x00080030}, {"series_time", 0x00080031}, {"acquisition_time", 0x00080032}}
	for _, d := range dates {
		delete(m, d.key)
		v := h.Attrs[d.tag]
		if v == "" {
			continue
		}
		switch o.dates() {
		case DatesKeep:
			m[d.key] = v
		case DatesShift:
			if t, err := time.Parse("20060102", v); err == nil {
				m[d.key] = t.AddDate(0, 0, -dateShiftDays(h)).Format("20060102")
			}
		}
	}
	for _, d := range times {
		delete(m, d.key)
		if v := h.Attrs[d.tag]; v != "" && o.dates() != DatesRemove {
			m[d.key] = v
		}
	}
	delete(m, "patient_age")
	delete(m, "patient_sex")
	if !o.DropAgeSex {
		if v := h.Attrs[0x00101010]; v != "" {
			m["patient_age"] = v
		}
		if v := h.Attrs[0x00100040]; v != "" {
			m["patient_sex"] = v
		}
	}
}

// cleanDescription removes from a description every identifying value
// (names, IDs, dates, institution, physicians…) found in the same header,
// and any word of them of 3 characters or more, case-insensitively.
func cleanDescription(s string, h *Header) string {
	var toks []string
	for _, a := range deidAttrs {
		if a.kind != "id" && a.kind != "pid" && a.kind != "date" && a.kind != "uid" {
			continue
		}
		v := h.Attrs[a.tag]
		toks = append(toks, v)
		toks = append(toks, strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(`^= \,.-/`, r) })...)
	}
	sort.Slice(toks, func(i, j int) bool { return len(toks[i]) > len(toks[j]) })
	for _, t := range toks {
		if len(t) < 3 {
			continue
		}
		s = regexp.MustCompile("(?i)"+regexp.QuoteMeta(t)).ReplaceAllString(s, "")
	}
	return strings.Join(strings.Fields(s), " ")
}

// writeDeidReport publishes r as JSON at path (shards.PublishBytes).
func writeDeidReport(path string, r *DeidReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return shards.PublishBytes(nil, path, append(b, '\n'))
}

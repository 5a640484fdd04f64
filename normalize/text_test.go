package normalize

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/medmd/medmd/shards"
)

// Sentences are real text from the PMC Open Access articles in
// ingest/pmc/jats/testdata (file named per case).
func TestCalloutRules(t *testing.T) {
	for _, tc := range []struct{ src, in, want string }{
		{"1471-2180-11-174", "we observed and recorded individual lysis events of thermally-induced Escherichia coli λ lysogens (Figure 2A).",
			"we observed and recorded individual lysis events of thermally-induced Escherichia coli λ lysogens."},
		{"1471-2180-11-174", "The directly observed MLTs (Table 1) were longer than those reported previously [46].",
			"The directly observed MLTs were longer than those reported previously."},
		{"1471-2180-11-174", "determined by when a critical concentration of holin proteins is reached in the cell membrane [40] (Figure 1, dark arrows).",
			"determined by when a critical concentration of holin proteins is reached in the cell membrane."},
		{"1471-2180-11-174", "also resulted in shorter MLTs and smaller SDs (Figure 3B and 3D).",
			"also resulted in shorter MLTs and smaller SDs."},
		{"1471-2180-11-174", "ular processes despite identical environments and genotypes [1-9]", "ular processes despite identical environments and genotypes"},
		{"ehp-116-1694", "PBDE-47 elevated gene transcripts for TSHβ in the pituitary gland (Figure 2; p = 0.0043).",
			"PBDE-47 elevated gene transcripts for TSHβ in the pituitary gland (p = 0.0043)."},
		{"pone.0000217", "the fitness isoclines are a series of circles centered on the origin of the axes (Fig. 1).",
			"the fitness isoclines are a series of circles centered on the origin of the axes."},
		{"pone.0046493", "tuberculosis H37Rv strain provided by the Pasteur Institute [9], [28] (Table S1), using Pfx DNA polymerase (Invitrogen).",
			"tuberculosis H37Rv strain provided by the Pasteur Institute, using Pfx DNA polymerase (Invitrogen)."},
		{"pone.0046493", "were observed within global masses of LipH, LipN and LipY, respectively (Figure 3A–C).",
			"were observed within global masses of LipH, LipN and LipY, respectively."},
		{"pone.0046493", "Purification procedures using Ni2+-NTA resin usually provided proteins with purities of 90% (Figure 2A), which were",
			"Purification procedures using Ni2+-NTA resin usually provided proteins with purities of 90%, which were"},
		{"mds526", "there would be ∼5600 fewer cases diagnosed in advanced stage in England annually (Table 4) representing ∼3%",
			"there would be ∼5600 fewer cases diagnosed in advanced stage in England annually representing ∼3%"},
		{"running text kept", "as shown in Figure 2, the lesion (arrow) enhances", "as shown in Figure 2, the lesion (arrow) enhances"},
	} {
		got, _ := RewriteText(tc.in, CleanRules(TextOptions{Callouts: true}))
		if got != tc.want {
			t.Errorf("%s:\n got  %q\n want %q", tc.src, got, tc.want)
		}
	}
}

func TestCleanRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    TextOptions
		in   string
		want string
	}{
		{"nfc", TextOptions{}, "Ame\u0301lie’s cafe\u0301", "Amélie’s café"},
		{"whitespace", TextOptions{}, "  Axial\u00a0CT \t shows\r\n\r\n\r\n\r\na  mass\u200b .  \n", "Axial CT shows\n\na mass."},
		{"bullets", TextOptions{Bullets: true}, "• Findings: mass\n- No effusion\n2) Normal heart\nPlain - text", "Findings: mass\nNo effusion\nNormal heart\nPlain - text"},
		{"qa", TextOptions{QAPrefixes: true}, "Q: What is shown?\nA: A fracture.\nQuestion : Where?", "What is shown?\nA fracture.\nWhere?"},
		// MedPix-style captions (measurement removal, RadFM rule)
		{"measure", TextOptions{Measurements: true}, "There is a 3.2 x 2.1 cm enhancing mass in the left lobe, measuring 5 mm in depth.",
			"There is a enhancing mass in the left lobe, in depth."},
		{"measure pmc", TextOptions{Measurements: true}, "immobilized on a 22 mm square glass coverslip (1.5–2 cm apart)",
			"immobilized on a square glass coverslip (apart)"},
		{"measure spelled-out units", TextOptions{Measurements: true}, "a cyst of 3 centimetres and a nodule of 5 millimeters", "a cyst of and a nodule of"},
		{"measure keeps other numbers", TextOptions{Measurements: true}, "Grade 2 lesion at T12, 3 months later", "Grade 2 lesion at T12, 3 months later"},
	} {
		got, _ := RewriteText(tc.in, CleanRules(tc.o))
		if got != tc.want {
			t.Errorf("%s:\n got  %q\n want %q", tc.name, got, tc.want)
		}
	}
}

func TestDeidRules(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		counts   map[string]int
	}{
		{"Seen by Dr. John Smith on 03/14/2019; call (555) 123-4567 or j.smith@hospital.org.",
			"Seen by [NAME] on [DATE]; call [PHONE] or [EMAIL].", map[string]int{"name": 1, "date": 1, "phone": 1, "email": 1}},
		{"MRN: 12345678, admitted March 3, 2019 and again 4 April 2020 (2020-04-04). Mrs Jones agreed.",
			"[ID], admitted [DATE] and again [DATE] ([DATE]). [NAME] agreed.", map[string]int{"id": 1, "date": 3, "name": 1}},
		{"Tel +44 20 7946 0958. Patient ID AB12345.", "Tel [PHONE]. [ID].", map[string]int{"phone": 1, "id": 1}},
		// the doc promises accession numbers too
		{"Accession number 2019-1234, accession #A55432.", "[ID], [ID].", map[string]int{"id": 2}},
		{"the cDNA sequence is available [GenBank accession no. EF432310]", "the cDNA sequence is available [GenBank accession no. EF432310]", map[string]int{}},
		// real PMC sentences that must survive unchanged
		{"the average monthly rainfall in 2007 was 150 mm and in 2010 it was 80 mm", "the average monthly rainfall in 2007 was 150 mm and in 2010 it was 80 mm", map[string]int{}},
		{"PBDE-47 elevated gene transcripts (p = 0.0043) in 10 20 30 rats; MR imaging", "PBDE-47 elevated gene transcripts (p = 0.0043) in 10 20 30 rats; MR imaging", map[string]int{}},
	} {
		got, c := RewriteText(tc.in, DeidRules)
		if got != tc.want {
			t.Errorf("\n got  %q\n want %q", got, tc.want)
		}
		if len(c) != len(tc.counts) {
			t.Errorf("%q: counts %v, want %v", tc.in, c, tc.counts)
		}
		for k, v := range tc.counts {
			if c[k] != v {
				t.Errorf("%q: counts %v, want %v", tc.in, c, tc.counts)
			}
		}
	}
}

// TestDeidUpperCaseTitles: upper-case reports ("DR. SMITH", "MR. JONES")
// lose their titled names too, while modality and disease abbreviations
// of the same letters stay.
func TestDeidUpperCaseTitles(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"FINDINGS DISCUSSED WITH DR. SMITH AT 3:15 PM.", "FINDINGS DISCUSSED WITH [NAME] AT 3:15 PM."},
		{"RESULTS COMMUNICATED TO DR. JOHN SMITH BY TELEPHONE.", "RESULTS COMMUNICATED TO [NAME] BY TELEPHONE."},
		{"MR. JONES IS A 67 YEAR OLD MALE WITH COUGH.", "[NAME] IS A 67 YEAR OLD MALE WITH COUGH."},
		{"HISTORY: MRS. O'BRIEN, FALL.", "HISTORY: [NAME], FALL."},
		{"PER MS. GARCIA-LOPEZ, PAIN SINCE MONDAY.", "PER [NAME], PAIN SINCE MONDAY."},
		{"PRELIMINARY READ BY PROF. MUELLER.", "PRELIMINARY READ BY [NAME]."},
		{"DR. KIM REVIEWED THE IMAGES.", "[NAME] REVIEWED THE IMAGES."},
		{"seen by dr. Patel in clinic", "seen by [NAME] in clinic"},
		// prose titles as before
		{"Dr. Smith reviewed the images.", "[NAME] reviewed the images."},
		// same letters that are not titles
		{"MR BRAIN WITHOUT AND WITH CONTRAST.", "MR BRAIN WITHOUT AND WITH CONTRAST."},
		{"EXAM: MR ANGIOGRAPHY OF THE HEAD", "EXAM: MR ANGIOGRAPHY OF THE HEAD"},
		{"DR CHEST 2 VIEWS: NO ACUTE PROCESS.", "DR CHEST 2 VIEWS: NO ACUTE PROCESS."},
		{"COMPARISON: PRIOR MR. NO INTERVAL CHANGE.", "COMPARISON: PRIOR MR. NO INTERVAL CHANGE."},
		{"HISTORY OF MS. THE LESIONS ARE STABLE.", "HISTORY OF MS. THE LESIONS ARE STABLE."},
		{"CT AND MR. FINDINGS AS ABOVE.", "CT AND MR. FINDINGS AS ABOVE."},
		{"WHITE MATTER LESIONS TYPICAL OF MS, NO ENHANCEMENT.", "WHITE MATTER LESIONS TYPICAL OF MS, NO ENHANCEMENT."},
	} {
		if got, _ := RewriteText(tc.in, DeidRules); got != tc.want {
			t.Errorf("\n in   %q\n got  %q\n want %q", tc.in, got, tc.want)
		}
	}
}

func TestApplyEditsPlacements(t *testing.T) {
	// "é" (2 bytes) before the edits checks code-point, not byte, offsets.
	s := shards.Sample{
		Response: "é mass (Fig. 2A) here [12]. <img> end",
		Placements: []shards.Placement{
			{Image: 0, Field: shards.FieldResponse, Offset: 0},
			{Image: 1, Field: shards.FieldResponse, Offset: 6},  // just before " (Fig"
			{Image: 2, Field: shards.FieldResponse, Offset: 10}, // inside the call-out
			{Image: 3, Field: shards.FieldResponse, Offset: 28}, // before "<img>"
			{Image: 4, Field: shards.FieldResponse, Offset: 37}, // end
			{Image: 5, Field: shards.FieldInstruction, Offset: 3},
		},
		Instruction: "  x   y",
	}
	counts := RewriteSample(&s, CleanRules(TextOptions{Callouts: true}))
	if s.Response != "é mass here. <img> end" || s.Instruction != "x y" {
		t.Fatalf("texts %q / %q", s.Response, s.Instruction)
	}
	want := []int{0, 6, 6, 13, 22, 1}
	for i, p := range s.Placements {
		if p.Offset != want[i] {
			t.Errorf("placement %d offset %d, want %d", i, p.Offset, want[i])
		}
	}
	r := []rune(s.Response)
	if string(r[13:18]) != "<img>" {
		t.Errorf("placement 3 no longer before <img>: %q", string(r[13:]))
	}
	if counts["callout"] != 1 || counts["citation"] != 1 {
		t.Errorf("counts %v", counts)
	}
}

func TestDeidOnRealArticlesIsQuiet(t *testing.T) {
	// Whole PMC bodies: the de-identifier must not shred scientific text.
	files := []string{"pone.0046493", "pntd.0002065", "1471-2180-11-174", "ehp-116-1694", "mds526", "pone.0000217"}
	for _, f := range files {
		b, err := readPMCArticle(f)
		if err != nil {
			t.Fatal(err)
		}
		body := string(b)
		if i, j := strings.Index(body, "<body>"), strings.Index(body, "</body>"); i >= 0 && j > i {
			body = body[i:j]
		}
		text := stripTags(body)
		_, c := RewriteText(text, DeidRules)
		total := 0
		for _, v := range c {
			total += v
		}
		words := len(strings.Fields(text))
		if total*1000 > words { // at most 0.1% of words
			t.Errorf("%s: %v replacements in %d words", f, c, words)
		}
	}
}

// FuzzRewriteSample checks the edit machinery on arbitrary text: rules
// never panic, placements stay inside their field, keep their order, and
// the result is valid UTF-8 in NFC.
func FuzzRewriteSample(f *testing.F) {
	for _, s := range []string{
		"Q: What?\nA: • A 3 x 2 cm mass (Fig. 2A) [1-3], Dr. Smith 03/14/2019",
		"e\u0301\u0323 (Table S1; p = 0.01)\r\n\r\n\r\n x",
		"tel +1 555 123 4567 a@b.co MRN 1234567",
	} {
		f.Add(s, 3, 10)
	}
	rules := append(CleanRules(TextOptions{Bullets: true, QAPrefixes: true, Callouts: true, Measurements: true}), DeidRules...)
	f.Fuzz(func(t *testing.T, text string, a, b int) {
		n := len([]rune(text))
		if n == 0 {
			return
		}
		a, b = abs(a)%(n+1), abs(b)%(n+1)
		if a > b {
			a, b = b, a
		}
		s := shards.Sample{Response: text, Placements: []shards.Placement{
			{Image: 0, Field: shards.FieldResponse, Offset: a}, {Image: 1, Field: shards.FieldResponse, Offset: b}}}
		RewriteSample(&s, rules)
		m := len([]rune(s.Response))
		p0, p1 := s.Placements[0].Offset, s.Placements[1].Offset
		if p0 < 0 || p1 > m || p0 > p1 {
			t.Fatalf("placements %d, %d outside/out of order in %d code points", p0, p1, m)
		}
		if !utf8.ValidString(text) {
			return
		}
		if !norm.NFC.IsNormalString(s.Response) && !strings.ContainsRune(s.Response, utf8.RuneError) {
			t.Fatalf("result not NFC: %q", s.Response)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestNFCAfterRemoval(t *testing.T) {
	got, _ := RewriteText("cafe\u200b\u0301", CleanRules(TextOptions{}))
	if got != "café" {
		t.Errorf("got %q", got)
	}
}

// FuzzMeasurementWindows checks that scanning windows around units finds
// exactly what the regular expression finds on the whole text.
func FuzzMeasurementWindows(f *testing.F) {
	for _, s := range []string{"a 3.2 x 2.1 cm mass, measuring 5 mm", "12mm;3 Centimetres 1 to 2 cm", "é4 mmé 5cm_x 6 met", "approx. 3mm"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := measurementEdits(s)
		var want []Edit
		for _, m := range reMeasurement.FindAllStringIndex(s, -1) {
			want = append(want, Edit{m[0], m[1], ""})
		}
		if len(got) != len(want) {
			t.Fatalf("%q: windows %v, whole text %v", s, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: windows %v, whole text %v", s, got, want)
			}
		}
	})
}

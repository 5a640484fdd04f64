package datasets

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

func TestTemplatesEmbedded(t *testing.T) {
	tm, err := DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for set := range requiredSets {
		if tm.Len(set) < 2 {
			t.Errorf("set %s has %d prompts; want a choice", set, tm.Len(set))
		}
	}
	// Same id and seed → same prompt; the id names the prompt used.
	id1, p1, _ := tm.Pick("diagnosis_yesno", "x-1", "", map[string]string{"label": "edema"})
	id2, p2, _ := tm.Pick("diagnosis_yesno", "x-1", "", map[string]string{"label": "edema"})
	if id1 != id2 || p1 != p2 || !strings.Contains(p1, "edema") {
		t.Errorf("%s %q vs %s %q", id1, p1, id2, p2)
	}
	var n int
	fmt.Sscanf(strings.TrimPrefix(id1, "diagnosis_yesno/"), "%d", &n)
	if want := fill(tm.sets["diagnosis_yesno"][n-1], map[string]string{"label": "edema"}); want != p1 {
		t.Errorf("template id %s does not name prompt %q", id1, p1)
	}
	// Over many ids every prompt of a set gets used.
	used := map[string]bool{}
	for i := 0; i < 400; i++ {
		id, _, _ := tm.Pick("vqa", fmt.Sprint("s", i), "", nil)
		used[id] = true
	}
	if len(used) != tm.Len("vqa") {
		t.Errorf("vqa: %d of %d prompts used", len(used), tm.Len("vqa"))
	}
}

func TestTemplatesInvalid(t *testing.T) {
	good, _ := os.ReadFile("templates.yaml")
	for _, c := range []struct{ name, edit, want string }{
		{"missing placeholder", strings.Replace(string(good), `"Is there {label} in this image?"`, `"Is there anything?"`, 1), "diagnosis_yesno/1 lacks placeholder {label}"},
		{"missing set", strings.Replace(string(good), "rationale:", "rationales:", 1), `prompt set "rationale" missing`},
		{"not yaml", "modality_open: [", "t.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseTemplates("t.yaml", []byte(c.edit))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

func TestFill(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Is there {label}?", "Is there {question}?"},
		{"{unknown} {label}", "{unknown} {question}"},
		{"no braces", "no braces"},
		{"open { only", "open { only"},
	} {
		if got := fill(c.in, map[string]string{"label": "{question}", "question": "Q"}); got != c.want {
			t.Errorf("fill(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNegativesNeverTrueLabel is the regression test for RadFM's modality
// task, which formats its "no" question with the TRUE modality
// (radiopaedia.py: question.replace('modality', modality) where it meant
// select_modality). Every "no" here must name a label the row lacks, and
// every label gets as many "no" as "yes" questions when rows allow.
func TestNegativesNeverTrueLabel(t *testing.T) {
	mods := []string{"CT", "MRI", "X-ray", "Ultrasound"}
	var rows []labelRow
	for i := 0; i < 200; i++ {
		rows = append(rows, labelRow{ID: fmt.Sprint("r", i), Pos: []string{mods[(i*7)%len(mods)%3+(i%5)/4]}})
	}
	neg := negatives(rows, mods, "")
	yes, no := map[string]int{}, map[string]int{}
	for i, r := range rows {
		yes[r.Pos[0]]++
		for _, l := range neg[i] {
			if l == r.Pos[0] {
				t.Fatalf("row %d (%s) asked no about its own modality", i, l)
			}
			no[l]++
		}
	}
	for _, m := range mods {
		if yes[m] != no[m] {
			t.Errorf("%s: %d yes, %d no", m, yes[m], no[m])
		}
	}
	// Deterministic, and the seed reshuffles.
	if !reflect.DeepEqual(neg, negatives(rows, mods, "")) {
		t.Error("negatives not deterministic")
	}
	if reflect.DeepEqual(neg, negatives(rows, mods, "other")) {
		t.Error("seed ignored")
	}
}

func TestNegativesSparseAndSkip(t *testing.T) {
	rows := []labelRow{
		{ID: "a", Pos: []string{"x"}}, {ID: "b", Pos: []string{"x"}}, {ID: "c", Pos: []string{"x"}},
		{ID: "d", Skip: []string{"x"}}, {ID: "e"},
	}
	neg := negatives(rows, []string{"x"}, "")
	// Only e can be negative for x (d is uncertain): 3 wanted, 1 possible.
	want := [][]string{nil, nil, nil, nil, {"x"}}
	if !reflect.DeepEqual(neg, want) {
		t.Errorf("got %v, want %v", neg, want)
	}
}

func TestCapPerLabel(t *testing.T) {
	rows := []labelRow{{ID: "a", Pos: []string{"x"}}, {ID: "b", Pos: []string{"x"}}, {ID: "c", Pos: []string{"x"}},
		{ID: "d", Pos: []string{"y"}}, {ID: "e"}, {ID: "f"}}
	keep := capPerLabel(rows, 1, "")
	n := map[string]int{}
	for i, k := range keep {
		if k {
			l := "normal"
			if len(rows[i].Pos) > 0 {
				l = rows[i].Pos[0]
			}
			n[l]++
		}
	}
	if !reflect.DeepEqual(n, map[string]int{"x": 1, "y": 1, "normal": 1}) {
		t.Errorf("kept per label %v", n)
	}
	for _, k := range capPerLabel(rows, 0, "") {
		if !k {
			t.Error("cap 0 must keep all")
		}
	}
}

func TestSampleRatio(t *testing.T) {
	full := runPipeline(t, "chestxray14")
	half := runPipeline(t, "chestxray14", "sample_ratio: 0.5")
	again := runPipeline(t, "chestxray14", "sample_ratio: 0.5")
	if len(half.units) >= len(full.units) || len(half.units) == 0 {
		t.Errorf("sample_ratio 0.5 kept %d of %d units", len(half.units), len(full.units))
	}
	if len(half.units) != len(again.units) {
		t.Error("down-sampling not deterministic")
	}
	for i := range half.units {
		if half.units[i].ID != again.units[i].ID {
			t.Error("down-sampling not deterministic")
		}
	}
}

// TestDeterministic reads every fixture twice and compares the samples.
func TestDeterministic(t *testing.T) {
	for _, name := range []string{"vqa-rad", "slake", "pmc-vqa", "mimic-cxr", "chestxray14", "chexpert", "vindr-cxr", "radiopaedia", "medpix"} {
		a, b := runPipeline(t, name), runPipeline(t, name)
		if len(a.samples) == 0 || !reflect.DeepEqual(a.samples, b.samples) {
			t.Errorf("%s: samples differ between runs (%d, %d)", name, len(a.samples), len(b.samples))
		}
	}
}

func TestImagePosition(t *testing.T) {
	r := runPipeline(t, "vqa-rad", "image_position: end")
	for _, s := range r.samples {
		if s.Placements[0].Offset != len([]rune(s.Instruction)) {
			t.Errorf("end: offset %d of %d", s.Placements[0].Offset, len([]rune(s.Instruction)))
		}
	}
	m := runPipeline(t, "chestxray14", "image_position: mixed")
	ends := 0
	for _, s := range m.samples {
		if s.Placements[0].Offset != 0 {
			ends++
		}
	}
	if ends == 0 || ends == len(m.samples) {
		t.Errorf("mixed: %d of %d at the end", ends, len(m.samples))
	}
}

// TestSiblingImagesIndependent: the samples of one row must not share voxel
// memory (a stage rewriting one in place would corrupt the others).
func TestSiblingImagesIndependent(t *testing.T) {
	r := runPipeline(t, "chestxray14")
	seen := map[*byte]string{}
	for _, s := range r.samples {
		p := &s.Images[0].Voxels[0]
		if other, ok := seen[p]; ok {
			t.Fatalf("%s and %s share voxels", s.ID, other)
		}
		seen[p] = s.ID
	}
}

// --- npy ----------------------------------------------------------------

func TestNpyGoldenProbes(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/npy_probes.json")
	if err != nil {
		t.Fatal(err)
	}
	var probes []struct {
		File  string
		Shape []int
		Index []int
		Value float64
	}
	if err := json.Unmarshal(data, &probes); err != nil {
		t.Fatal(err)
	}
	for _, p := range probes {
		raw, err := os.ReadFile("testdata/" + p.File)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseNpy(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Shape, p.Shape) {
			t.Errorf("%s: shape %v, numpy %v", p.File, a.Shape, p.Shape)
		}
		ims, err := decodeNpyImages(raw)
		if err != nil {
			t.Fatal(err)
		}
		// numpy index (s, c, h, w, d) → project layout (c, d, h, w) of image s.
		s, c, y, x, z := p.Index[0], p.Index[1], p.Index[2], p.Index[3], p.Index[4]
		im := ims[s]
		off := (((c*im.Depth+z)*im.Height+y)*im.Width + x) * 4
		got := math.Float32frombits(binary.LittleEndian.Uint32(im.Voxels[off:]))
		if float64(got) != p.Value {
			t.Errorf("%s%v: %v, numpy %v", p.File, p.Index, got, p.Value)
		}
	}
}

// npyFile writes an npy v1 file.
func npyFile(header string, body []byte) []byte {
	h := header
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(body)
	return b.Bytes()
}

func TestParseNpy(t *testing.T) {
	// A 2×3 int16 array 0..5 in C order, Fortran order and big-endian.
	c := []byte{0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0}
	f := []byte{0, 0, 3, 0, 1, 0, 4, 0, 2, 0, 5, 0}
	be := []byte{0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5}
	for _, tc := range []struct {
		name    string
		file    []byte
		want    []byte
		wantErr string
	}{
		{"c order", npyFile("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", c), c, ""},
		{"fortran order", npyFile("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }", f), c, ""},
		{"big endian", npyFile("{'descr': '>i2', 'fortran_order': False, 'shape': (2, 3), }", be), c, ""},
		{"truncated", npyFile("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", c[:10]), nil, "truncated"},
		{"huge shape", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", c), nil, "larger than the file"},
		{"object", npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", c), nil, "unsupported dtype"},
		{"no magic", []byte("NUMPY......"), nil, "magic"},
		{"bad version", append([]byte("\x93NUMPY\x09\x00"), 0, 0), nil, "version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseNpy(tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.DType != shards.Int16 || !reflect.DeepEqual(a.Shape, []int{2, 3}) || !bytes.Equal(a.Data, tc.want) {
				t.Errorf("got %s %v %v", a.DType, a.Shape, a.Data)
			}
		})
	}
}

// TestNpyTruncationSweep cuts a real fixture at every length: each prefix
// must fail with an error, never panic.
func TestNpyTruncationSweep(t *testing.T) {
	raw, err := os.ReadFile("testdata/radiopaedia/processed_file/processed_images/67890_0.npy")
	if err != nil {
		t.Fatal(err)
	}
	step := 1
	for n := 0; n < len(raw); n += step {
		if n > 256 {
			step = 97
		}
		if _, err := decodeNpyImages(raw[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		} else if n > 200 && !errors.Is(err, errTruncated) {
			t.Fatalf("prefix %d: %v", n, err)
		}
	}
}

func FuzzParseNpy(f *testing.F) {
	for _, p := range []string{"testdata/radiopaedia/processed_file/processed_images/12345_0.npy", "testdata/radiopaedia/processed_file/processed_images/67890_0.npy"} {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw)
		}
	}
	f.Add(npyFile("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }", make([]byte, 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		ims, err := decodeNpyImages(data)
		if err != nil {
			return
		}
		for _, im := range ims {
			if len(im.Voxels) != im.NumVoxels()*im.DType.Size() {
				t.Fatalf("voxels %d for %d×%d×%d×%d", len(im.Voxels), im.Channels, im.Depth, im.Height, im.Width)
			}
		}
	})
}

func FuzzParseReport(f *testing.F) {
	if raw, err := os.ReadFile("testdata/mimic-cxr/files/p10/p10000032/s50414267.txt"); err == nil {
		f.Add(string(raw))
	}
	f.Add("FINDINGS:\nIMPRESSION:")
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseReport(s)
		for _, v := range []string{r.Findings, r.Impression, r.Indication} {
			if strings.TrimSpace(v) != v {
				t.Fatalf("untrimmed section %q", v)
			}
		}
	})
}

func TestModalityCode(t *testing.T) {
	for in, want := range map[string]string{
		"MRI": "MR", "CT": "CT", "X-Ray": "DX", "CT - noncontrast": "CT", "MR - T2 weighted": "MR",
		"US - Ultrasound": "US", "XR - Plain Film": "DX", "PET-CT Fusion": "PT", "Mammograph": "MG",
		"NM - Nuclear Medicine": "NM", "AN - Angiogram": "XA", "Photograph": "", "": "",
	} {
		if got := modalityCode(in); got != want {
			t.Errorf("modalityCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReadCSVQuarantinesBadRows: a row the CSV parser rejects is kept as an
// error naming its line; the rows after it still parse.
func TestReadCSVQuarantinesBadRows(t *testing.T) {
	p := t.TempDir() + "/t.csv"
	os.WriteFile(p, []byte("a,b,c\n1,2,3\n4,\"5,6\n7,8,9\n"), 0o644)
	tb, err := (&tree{}).readCSV(context.Background(), p, ',')
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) == 0 || tb.Rows[0].Err != nil || tb.get(tb.Rows[0], "c") != "3" {
		t.Fatalf("rows %+v", tb.Rows)
	}
	bad := 0
	for _, r := range tb.Rows[1:] {
		if r.Err != nil {
			bad++
			if !strings.Contains(r.Err.Error(), "t.csv:3:") {
				t.Errorf("error %v does not name line 3", r.Err)
			}
		}
	}
	if bad == 0 {
		t.Error("bad quoting not reported")
	}
	os.WriteFile(p, []byte("a,b,c\n1,2\n"), 0o644)
	if tb, _ := (&tree{}).readCSV(context.Background(), p, ','); len(tb.Rows) != 1 || tb.Rows[0].Err == nil || !strings.Contains(tb.Rows[0].Err.Error(), "t.csv:2: 2 fields, header has 3") {
		t.Errorf("short row: %+v", tb.Rows)
	}
}

func TestTemplatesOverride(t *testing.T) {
	// A templates file with one prompt per set: every sample must use it.
	var b strings.Builder
	for set, ph := range requiredSets {
		fmt.Fprintf(&b, "%s:\n  - \"OVERRIDE %s\"\n", set, strings.Join(ph, " "))
	}
	p := t.TempDir() + "/mine.yaml"
	os.WriteFile(p, []byte(b.String()), 0o644)
	r := runPipeline(t, "vqa-rad", "templates: "+p)
	if len(r.samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range r.samples {
		if s.Meta["template"] != "vqa/1" || !strings.HasPrefix(s.Instruction, "OVERRIDE ") {
			t.Errorf("override not used: %s %q", s.Meta["template"], s.Instruction)
		}
	}
}

func TestSafeJoin(t *testing.T) {
	for _, c := range []struct {
		rel string
		ok  bool
	}{{"a/b.jpg", true}, {"../x.jpg", false}, {"/etc/passwd", false}, {"a/../../x", false}, {"", false}, {"a/../b.jpg", true}} {
		_, err := safeJoin("/root", c.rel)
		if (err == nil) != c.ok {
			t.Errorf("safeJoin(%q): err %v", c.rel, err)
		}
	}
}

// TestReadJSONListBOM: a list saved with a UTF-8 byte-order mark reads
// like one without; the mark is stripped only at the very start.
func TestReadJSONListBOM(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		want       int
		wantErr    string
	}{
		{"plain", `[{"a":1},{"a":2}]`, 2, ""},
		{"bom", "\ufeff[{\"a\":1},{\"a\":2}]", 2, ""},
		{"bom then space", "\ufeff \n[{\"a\":1}]", 1, ""},
		{"two boms", "\ufeff\ufeff[]", 0, "not a JSON list"},
		{"object", "\ufeff{}", 0, "not a JSON list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := dir + "/" + strings.ReplaceAll(c.name, " ", "_") + ".json"
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			list, err := (&tree{}).readJSONList(context.Background(), path)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || len(list) != c.want {
				t.Errorf("got %d entries, err %v; want %d", len(list), err, c.want)
			}
		})
	}
}

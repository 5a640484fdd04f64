package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medmd/medmd/bench"
	"github.com/medmd/medmd/bench/benchtest"
	"github.com/medmd/medmd/ingest/radmd"
	"github.com/medmd/medmd/shards"
)

// Ids of the fixture corpus.
const (
	ctID     = "test-ct-0001"
	xrayID   = "test-xray-0002"
	scriptID = "test-script-0003"
)

// ctVolume is a W×H×D int16 CT-like volume: a bright sphere in a dark
// box, so every axis and window shows something.
func ctVolume(w, h, d int) shards.Image {
	vox := make([]byte, 2*w*h*d)
	for k := 0; k < d; k++ {
		for j := 0; j < h; j++ {
			for i := 0; i < w; i++ {
				v := -1000
				dx, dy, dz := float64(i-w/2), float64(j-h/2), float64(k-d/2)
				if dx*dx+dy*dy+dz*dz < float64(w*w)/9 {
					v = 40 + 10*(i%7)
				}
				binary.LittleEndian.PutUint16(vox[2*(k*w*h+j*w+i):], uint16(int16(v)))
			}
		}
	}
	return shards.Image{Modality: "CT", Plane: "axial", DType: shards.Int16, Channels: 1, Depth: d, Height: h, Width: w,
		Voxels: vox, Spacing: [3]float64{0.8, 0.8, 2.5}, Affine: [16]float64{-0.8, 0, 0, 10, 0, -0.8, 0, 10, 0, 0, 2.5, -20, 0, 0, 0, 1},
		Transforms: []shards.Transform{{Name: "canonical_ras", Params: `{"from":"LPS"}`}}, SourcePath: "patient-3f2a/ct/series-1", SourceSHA256: strings.Repeat("ab", 32)}
}

func xray(w, h int) shards.Image {
	vox := make([]byte, w*h)
	for i := range vox {
		vox[i] = byte(i % 251)
	}
	return shards.Image{Modality: "CR", DType: shards.Uint8, Channels: 1, Depth: 1, Height: h, Width: w, Voxels: vox, Affine: shards.IdentityAffine(), SourcePath: "img/0002.png"}
}

func fixtureSamples() []shards.Sample {
	return []shards.Sample{
		{ID: ctID, Source: "dicom", Task: shards.TaskReport, Group: strings.Repeat("1", 64), Split: "train", License: "CC-BY-4.0",
			Instruction: "Describe the chest CT.", Response: "A round nodule in the right lower lobe.",
			Placements: []shards.Placement{{Image: 0, Field: shards.FieldInstruction, Offset: 0}}, Images: []shards.Image{ctVolume(24, 20, 16)},
			Meta: map[string]string{"deid_total": "2"}},
		{ID: xrayID, Source: "vqa-rad", Task: shards.TaskVQA, Group: strings.Repeat("2", 64), Split: "test", License: "CC0-1.0",
			Instruction: "Is there a pneumothorax?", Response: "No", Images: []shards.Image{xray(40, 32)},
			Placements: []shards.Placement{{Image: 0, Field: shards.FieldInstruction, Offset: 3}}},
		{ID: scriptID, Source: "pmc-oa", Task: shards.TaskCaption, Group: "PMC1", Split: "", License: "CC-BY-4.0",
			Instruction: "Caption the figure.", Response: `Figure 1 <script>alert("x")</script> & <b>bold</b> pneumothorax`,
			Images: []shards.Image{xray(16, 16)}},
	}
}

// fixture writes the corpus and a RadMD output folder beside it and
// returns their manifests.
func fixture(t testing.TB) (corpus, radmdDir string) {
	t.Helper()
	tmp := t.TempDir()
	corpus = filepath.Join(tmp, "medmd")
	if _, err := shards.WriteCorpus(corpus, "test", "0", shards.SamplesOf(fixtureSamples()), shards.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(tmp, "mix")
	if _, err := shards.WriteCorpus(in, "test", "0", shards.SamplesOf(benchtest.MedMD(2)), shards.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	radmdDir = filepath.Join(tmp, "radmd")
	if _, err := radmd.Run(context.Background(), filepath.Join(in, shards.ManifestFile), radmdDir, radmd.Options{}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(corpus, shards.ManifestFile), radmdDir
}

// radbenchFixture builds RadBench splits from a small MedMD corpus and
// returns the output folder.
func radbenchFixture(t testing.TB) string {
	t.Helper()
	tmp := t.TempDir()
	in := filepath.Join(tmp, "medmd")
	if _, err := shards.WriteCorpus(in, "test", "0", shards.SamplesOf(benchtest.MedMD(20)), shards.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "radbench")
	if _, err := bench.Build(t.Context(), filepath.Join(in, shards.ManifestFile), out, bench.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitLeakCheck waits for the server's background RadBench leakage check.
func waitLeakCheck(t testing.TB, s *Server) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s.bench.mu.Lock()
		pending := s.bench.pending
		s.bench.mu.Unlock()
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the RadBench leakage check did not finish in 60 s")
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newServer(t testing.TB, labels string, manifests ...string) *Server {
	t.Helper()
	s, err := New(t.Context(), manifests, Options{Labels: labels, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestPages(t *testing.T) {
	corpus, radmdDir := fixture(t)
	s := newServer(t, "", corpus, radmdDir)
	ct := "/samples/" + ctID
	for _, tc := range []struct {
		target  string
		status  int
		want    []string
		notWant []string
	}{
		{"/", 200, []string{"medmd", "dicom", "vqa-rad", "16×20×24", "CT", "radmd", "not-radiology", "2 redactions", "are 64-hex"}, nil},
		{"/samples", 200, []string{ctID, xrayID, scriptID, "/images/0.png"}, nil},
		{"/samples?corpus=medmd&q=PNEUMOTHORAX", 200, []string{xrayID, scriptID, "<mark>pneumothorax</mark>", `<span id="total">2</span>`}, []string{ctID}},
		{"/samples?q=%3Cscript%3E", 200, []string{"<mark>&lt;script&gt;</mark>"}, []string{"<script>alert"}},
		{"/samples?source=dicom", 200, []string{ctID}, []string{xrayID}},
		{"/samples?task=vqa&split=test&license=CC0-1.0", 200, []string{xrayID}, []string{ctID}},
		{"/samples?kind=3d", 200, []string{ctID}, []string{xrayID, scriptID}},
		{"/samples?kind=2d", 200, []string{xrayID, scriptID}, []string{`href="/samples/` + ctID}},
		{"/samples?source=nowhere", 200, []string{`<span id="total">0</span>`}, nil},
		{"/samples?corpus=medmd&group=" + strings.Repeat("1", 64), 200, []string{ctID}, []string{xrayID}},
		{"/samples?page=2", 200, []string{"page 2 of 1"}, []string{ctID}},
		{"/samples?page=99999999999999999999999", 200, []string{"no samples match"}, nil},
		{"/samples?page=-1", 400, nil, nil},
		{"/samples?page=abc", 400, nil, nil},
		{"/samples?kind=4d", 400, nil, nil},
		{"/samples?q=" + strings.Repeat("a", 2000), 400, nil, nil},
		{ct, 200, []string{"Describe the chest CT", `type="range"`, "lung", "canonical_ras", "patient-3f2a/ct/series-1", strings.Repeat("ab", 32), "0.8 × 0.8 × 2.5"}, []string{"label-form"}},
		{"/samples/" + xrayID, 200, []string{"Is ", "pneumothorax", "CR"}, []string{`type="range"`}},
		{"/samples/" + scriptID, 200, []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"}, []string{"<script>alert", "<b>bold"}},
		{"/samples/no-such-id", 404, nil, nil},
		{"/samples/" + ctID + "?corpus=radmd", 404, nil, nil},
		{"/samples/..%2f..%2fetc%2fpasswd", 404, nil, nil},
		{"/samples/%2e%2e", 404, nil, nil},
		{"/radmd", 200, []string{"RadMD audit", "not-radiology", "dropped"}, nil},
		{"/radmd?show=kept", 200, []string{"kept"}, nil},
		{"/radmd?rule=not-radiology&page=99999999999999", 200, []string{"no samples match"}, nil},
		{"/radmd?show=everything", 400, nil, nil},
		{"/radmd?corpus=medmd", 404, nil, nil},
		{"/radbench", 200, []string{"No RadBench split"}, nil},
		{"/static/app.js", 200, []string{"setupViewer"}, nil},
		{"/static/../serve.go", 404, nil, nil},
		{"/nothing", 404, nil, nil},
	} {
		rec := get(t, s, tc.target)
		body := rec.Body.String()
		if rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect {
			// The mux cleans paths with dot segments by redirecting;
			// follow it once like a browser.
			rec = get(t, s, rec.Header().Get("Location"))
			body = rec.Body.String()
		}
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d\n%.300s", tc.target, rec.Code, tc.status, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q in the page", tc.target, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(body, w) {
				t.Errorf("%s: %q in the page", tc.target, w)
			}
		}
		if rec.Code == 200 && strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") &&
			!strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: no Content-Security-Policy", tc.target)
		}
	}
}

func TestImages(t *testing.T) {
	corpus, _ := fixture(t)
	s := newServer(t, "", corpus)
	base := "/samples/" + ctID + "/images/0.png"
	for _, tc := range []struct {
		query  string
		status int
		w, h   int // 0: not checked
	}{
		{"", 200, 0, 0},
		{"?axis=z&slice=0&window=lung", 200, 0, 0},
		{"?axis=y&slice=19&window=bone", 200, 0, 0},
		{"?axis=x&slice=23&window=soft", 200, 0, 0},
		{"?axis=z&slice=8&size=64", 200, 64, 0},
		{"?size=99999999", 200, 1024, 0},
		{"?axis=z&slice=16", 400, 0, 0},
		{"?axis=y&slice=20", 400, 0, 0},
		{"?slice=-1", 400, 0, 0},
		{"?slice=99999999999999999999999", 400, 0, 0},
		{"?axis=w", 400, 0, 0},
		{"?window=%3Cscript%3E", 400, 0, 0},
		{"?axis=../../etc", 400, 0, 0},
	} {
		rec := get(t, s, base+tc.query)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.query, rec.Code, tc.status, rec.Body)
			continue
		}
		if tc.status != 200 {
			continue
		}
		img, err := png.Decode(rec.Body)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if b := img.Bounds(); tc.w > 0 && max(b.Dx(), b.Dy()) != tc.w {
			t.Errorf("%s: %v, want longer side %d", tc.query, b, tc.w)
		}
	}
	for _, target := range []string{
		"/samples/" + ctID + "/images/1.png", "/samples/" + ctID + "/images/-1.png", "/samples/" + ctID + "/images/01.png",
		"/samples/" + ctID + "/images/0.jpg", "/samples/" + ctID + "/images/%2e%2e.png", "/samples/nope/images/0.png",
	} {
		if rec := get(t, s, target); rec.Code != 404 {
			t.Errorf("%s: status %d, want 404", target, rec.Code)
		}
	}
	// A 2D image has only the z axis with one slice.
	if rec := get(t, s, "/samples/"+xrayID+"/images/0.png?slice=1"); rec.Code != 400 {
		t.Errorf("2D slice 1: %d", rec.Code)
	}
	// ETag: a repeat with If-None-Match is 304; another slice another tag.
	rec := get(t, s, base+"?slice=3")
	tag := rec.Header().Get("ETag")
	req := httptest.NewRequest(http.MethodGet, base+"?slice=3", nil)
	req.Header.Set("If-None-Match", tag)
	rec2 := httptest.NewRecorder()
	s.ServeHTTP(rec2, req)
	if tag == "" || rec2.Code != http.StatusNotModified {
		t.Errorf("ETag %q, revalidation %d", tag, rec2.Code)
	}
	if other := get(t, s, base+"?slice=4").Header().Get("ETag"); other == tag {
		t.Error("two slices share an ETag")
	}
	// Slices differ: the middle slice cuts the sphere, slice 0 does not.
	mid, edge := get(t, s, base+"?slice=8&window=soft").Body.Bytes(), get(t, s, base+"?slice=0&window=soft").Body.Bytes()
	if bytes.Equal(mid, edge) {
		t.Error("slice 8 and slice 0 render the same picture")
	}
}

func TestLabels(t *testing.T) {
	corpus, _ := fixture(t)
	path := filepath.Join(t.TempDir(), "labels.jsonl")
	// A line a crash cut short must stay alone.
	if err := os.WriteFile(path, []byte(`{"id":"`+xrayID+`","label":"keep"}`+"\n"+`{"id":"x","lab`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, path, corpus)
	page := get(t, s, "/samples/"+ctID).Body.String()
	if !strings.Contains(page, s.Token()) || !strings.Contains(page, `id="label-form"`) {
		t.Fatal("sample page has no label form with the token")
	}
	if !strings.Contains(get(t, s, "/samples/"+xrayID).Body.String(), `<b id="current-label">keep</b>`) {
		t.Error("existing label not shown")
	}
	post := func(id string, form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/samples/"+url.PathEscape(id)+"/label", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		name, id string
		form     url.Values
		status   int
	}{
		{"no token", ctID, url.Values{"label": {"drop"}}, 403},
		{"wrong token", ctID, url.Values{"label": {"drop"}, "token": {"0000"}}, 403},
		{"bad label", ctID, url.Values{"label": {"maybe"}, "token": {s.Token()}}, 400},
		{"unknown id", "nope", url.Values{"label": {"drop"}, "token": {s.Token()}}, 404},
		{"drop", ctID, url.Values{"label": {"drop"}, "token": {s.Token()}, "corpus": {"medmd"}}, 303},
		{"change of mind", scriptID, url.Values{"label": {"unsure"}, "token": {s.Token()}}, 303},
	} {
		if rec := post(tc.id, tc.form); rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, rec.Code, tc.status, rec.Body)
		}
	}
	if rec := get(t, s, "/samples/"+url.PathEscape(ctID)+"/label"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET label: %d", rec.Code)
	}
	got, err := radmd.ReadLabels(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ByID[ctID] != "drop" || got.ByID[scriptID] != "unsure" || got.ByID[xrayID] != "keep" || len(got.Skipped) != 1 {
		t.Errorf("labels file: %v skipped %v", got.ByID, got.Skipped)
	}

	ro := newServer(t, "", corpus)
	req := httptest.NewRequest(http.MethodPost, "/samples/"+ctID+"/label", strings.NewReader("label=drop"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	ro.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || ro.Token() != "" {
		t.Errorf("read-only server answered a label POST with %d", rec.Code)
	}
}

// TestIndexSavedAndRebuilt checks the index is saved beside the
// manifest, reused while the manifest is unchanged, and rebuilt (at
// start-up and while serving) when it changes.
func TestIndexSavedAndRebuilt(t *testing.T) {
	corpus, _ := fixture(t)
	dir := filepath.Dir(corpus)
	m, err := shards.ReadManifest(corpus)
	if err != nil {
		t.Fatal(err)
	}
	ix, rebuilt, saveErr, err := LoadIndex(t.Context(), m)
	if err != nil || !rebuilt || saveErr != nil || ix.Len() != 3 {
		t.Fatalf("first load: %v rebuilt=%v save=%v", err, rebuilt, saveErr)
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err != nil {
		t.Fatal(err)
	}
	if _, rebuilt, _, err := LoadIndex(t.Context(), m); err != nil || rebuilt {
		t.Fatalf("second load rebuilt=%v err=%v", rebuilt, err)
	}
	// A damaged index file is rebuilt, not trusted.
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, rebuilt, _, err := LoadIndex(t.Context(), m); err != nil || !rebuilt {
		t.Fatalf("damaged index: rebuilt=%v err=%v", rebuilt, err)
	}

	s, err := New(t.Context(), []string{corpus}, Options{Logger: quietLog(), CheckEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Rewrite the corpus with one more sample: same folder, new manifest.
	more := append(fixtureSamples(), shards.Sample{ID: "test-new-0004", Source: "dicom", Task: shards.TaskReport, Group: "g", License: "x",
		Response: "added later", Images: []shards.Image{xray(8, 8)}})
	for _, f := range []string{shards.ManifestFile, "shard-00000.arrow", "shard-00000.parquet", "shard-00000.stats.json"} {
		os.Remove(filepath.Join(dir, f))
	}
	time.Sleep(10 * time.Millisecond) // a new modification time
	if _, err := shards.WriteCorpus(dir, "test", "1", shards.SamplesOf(more), shards.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if rec := get(t, s, "/samples/test-new-0004"); rec.Code != 200 {
		t.Errorf("new sample after the manifest changed: %d", rec.Code)
	}
}

func TestHighlight(t *testing.T) {
	for _, tc := range []struct {
		text, q string
		limit   int
		want    string
	}{
		{"A Nodule here", "nodule", 100, "A <mark>Nodule</mark> here"},
		{"<i>x</i> nodule", "nodule", 100, "&lt;i&gt;x&lt;/i&gt; <mark>nodule</mark>"},
		{"no match", "zzz", 100, "no match"},
		{strings.Repeat("é", 100) + " nodule", "nodule", 40, "…"},
		{"ab", "", 1, "a…"},
	} {
		got := string(highlight(tc.text, appendLower(nil, tc.q), tc.limit))
		if !strings.Contains(got, tc.want) || !strings.ContainsRune(got+"x", 'x') {
			t.Errorf("highlight(%q, %q) = %q, want %q in it", tc.text, tc.q, got, tc.want)
		}
		if !utf8Valid(got) {
			t.Errorf("highlight(%q) cut a rune: %q", tc.text, got)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestCorpusNames(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"a/medmd/manifest.json", "b/radmd/manifest.json"}, []string{"medmd", "radmd"}},
		{[]string{"rb/vqa/train/manifest.json", "rb/vqa/test/manifest.json", "rb/report/test/manifest.json"}, []string{"vqa/train", "vqa/test", "report/test"}},
	} {
		if got := corpusNames(tc.in); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("corpusNames(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestRadBenchPage serves a RadBench output folder: every task's splits
// with sample and group counts, and the finished leakage report.
func TestRadBenchPage(t *testing.T) {
	s := newServer(t, "", radbenchFixture(t))
	waitLeakCheck(t, s)
	rec := get(t, s, "/radbench")
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("/radbench: %d", rec.Code)
	}
	for _, task := range bench.Tasks {
		if !strings.Contains(body, "radbench · "+task) {
			t.Errorf("/radbench: no block for task %s", task)
		}
	}
	for _, w := range []string{">train<", ">test<", "identical", "groups in both train and test: <b>0</b>"} {
		if !strings.Contains(body, w) {
			t.Errorf("/radbench: no %q in the page", w)
		}
	}
	if strings.Contains(body, "running") || strings.Contains(body, "failed") {
		t.Errorf("/radbench: leakage check not finished:\n%s", body)
	}
	// Each split's link lists that split.
	for _, c := range s.Corpora() {
		if rec := get(t, s, "/samples?corpus="+url.QueryEscape(c.Name)); rec.Code != 200 || !strings.Contains(rec.Body.String(), fmt.Sprintf(`<span id="total">%d</span>`, c.Index.Len())) {
			t.Errorf("/samples?corpus=%s: %d, want all %d samples", c.Name, rec.Code, c.Index.Len())
		}
	}
}

// TestMatchText checks the whole-column text search against a search of
// each sample's text, including hits that would run across two samples.
func TestMatchText(t *testing.T) {
	texts := []string{"describe.\nthe corpus", "corpus ends here", "\n", "here corpus", "x", "orpus corpus corp", "us"}
	ix := &Index{TextOff: []int64{0}, ImgOff: []int32{0}}
	for _, tx := range texts {
		ix.IDs = append(ix.IDs, tx)
		ix.Text = append(ix.Text, tx...)
		ix.TextOff = append(ix.TextOff, int64(len(ix.Text)))
		ix.ImgOff = append(ix.ImgOff, 0)
	}
	c := &Corpus{Index: ix}
	for _, q := range []string{"corpus", "corpusc", "here", "e.\nthe", "sx", "corp", "us", "\n", "xo", "nothing"} {
		var want, got []int
		for i, tx := range texts {
			if strings.Contains(tx, q) {
				want = append(want, i)
			}
		}
		f := filter{q: []byte(q)}
		f.match(c, func(i int) bool { got = append(got, i); return true })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("q %q: samples %v, want %v", q, got, want)
		}
		// Stopping early stops.
		n := 0
		f.match(c, func(int) bool { n++; return false })
		if n > 1 {
			t.Errorf("q %q: %d yields after false", q, n)
		}
	}
}

// TestIndexFileRoundTripAndDamage checks the chunked index file reads
// back equal to what was written, and that every damaged variant is
// refused (so LoadIndex rebuilds) rather than misread or over-allocated.
func TestIndexFileRoundTripAndDamage(t *testing.T) {
	corpus, _ := fixture(t)
	m, err := shards.ReadManifest(corpus)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := BuildIndex(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), IndexFile)
	if err := ix.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadIndex(path, m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ix, back) {
		t.Errorf("index read back differs:\n%+v\n%+v", ix, back)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A header claiming a huge column, followed by the real columns.
	var lying bytes.Buffer
	enc := gob.NewEncoder(&lying)
	cols := ix.indexColumns()
	h := indexHeader{Version: indexVersion, ManifestHash: m.Hash(), Lens: make([]int, len(cols))}
	h.Lens[0] = 1 << 40
	if err := enc.Encode(&h); err != nil {
		t.Fatal(err)
	}
	for _, col := range cols {
		if err := writeColumn(enc, col); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated in the header", good[:10]},
		{"truncated in the columns", good[:len(good)/2]},
		{"last byte missing", good[:len(good)-1]},
		{"header lies about a length", lying.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), IndexFile)
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadIndex(p, m); err == nil {
				t.Error("damaged index read without an error")
			}
		})
	}
}

// TestIndexChunks checks columns that span several gob messages, and
// ones ending on a chunk boundary, come back whole.
func TestIndexChunks(t *testing.T) {
	for _, n := range []int{0, 1, indexChunk - 1, indexChunk, indexChunk + 1, 2*indexChunk + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			col := make([]uint16, n)
			for i := range col {
				col[i] = uint16(i * 7)
			}
			var buf bytes.Buffer
			if err := writeChunks(gob.NewEncoder(&buf), col); err != nil {
				t.Fatal(err)
			}
			back, err := readChunks[uint16](gob.NewDecoder(&buf), n)
			if err != nil || !reflect.DeepEqual(back, col) {
				t.Fatalf("%d elements: err %v, got %d back", n, err, len(back))
			}
		})
	}
}

package datasets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// result is what one source produced from the fixtures.
type result struct {
	units   []ingest.Unit
	samples []shards.Sample
	// failed maps unit id → the Read error (the runner's quarantine).
	failed map[string]error
}

// runPipeline builds the named pipeline of testdata/pipelines.yaml, with
// extra source parameters (YAML flow-mapping entries) appended, and plans
// and reads every unit as the runner would.
func runPipeline(t *testing.T, name string, extra ...string) result {
	t.Helper()
	data, err := os.ReadFile("testdata/pipelines.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if len(extra) > 0 {
		// Splice the extra params into this pipeline's source mapping.
		marker := "source: {type: " + name + ","
		i := strings.Index(text, marker)
		if i < 0 {
			t.Fatalf("no pipeline %s", name)
		}
		j := i + strings.Index(text[i:], "}")
		line := text[i:j]
		for _, e := range extra {
			key, _, _ := strings.Cut(e, ":")
			// An extra parameter replaces the fixture's value of the same key.
			re := regexp.MustCompile(`, ` + regexp.QuoteMeta(key) + `: [^,]*`)
			line = re.ReplaceAllString(line, "")
			line += ", " + e
		}
		text = text[:i] + line + text[j:]
	}
	cfg, err := ingest.ParseConfig("testdata/pipelines.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Pipeline(name)
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := p.Build(cfg.BaseDir)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, src)
}

func readAll(t *testing.T, src ingest.Source) result {
	t.Helper()
	ctx := context.Background()
	units, err := src.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	r := result{units: units, failed: map[string]error{}}
	seen := map[string]bool{}
	for _, u := range units {
		if seen[u.ID] {
			t.Errorf("unit id %s planned twice", u.ID)
		}
		seen[u.ID] = true
		ss, err := src.Read(ctx, u)
		if err != nil {
			r.failed[u.ID] = err
			continue
		}
		r.samples = append(r.samples, ss...)
	}
	checkSamples(t, r.samples)
	return r
}

// checkSamples asserts what every sample of every source must satisfy.
func checkSamples(t *testing.T, ss []shards.Sample) {
	t.Helper()
	ids := map[string]bool{}
	tmpl, err := DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if ids[s.ID] {
			t.Errorf("sample id %s repeated", s.ID)
		}
		ids[s.ID] = true
		if s.Instruction == "" || s.Response == "" {
			t.Errorf("%s: empty instruction or response: %q / %q", s.ID, s.Instruction, s.Response)
		}
		tid := s.Meta["template"]
		set, _, ok := strings.Cut(tid, "/")
		if !ok || tmpl.Len(set) == 0 {
			t.Errorf("%s: template id %q names no prompt set", s.ID, tid)
		}
		if len(s.Images) == 0 || len(s.Images) != len(s.Placements) {
			t.Errorf("%s: %d images, %d placements", s.ID, len(s.Images), len(s.Placements))
		}
		n := len([]rune(s.Instruction))
		for i, p := range s.Placements {
			if p.Image != i || p.Field != shards.FieldInstruction || p.Offset < 0 || p.Offset > n {
				t.Errorf("%s: bad placement %+v (instruction of %d runes)", s.ID, p, n)
			}
		}
		for _, im := range s.Images {
			if im.NumVoxels() == 0 || len(im.Voxels) != im.NumVoxels()*im.DType.Size() {
				t.Errorf("%s: image %s: %d voxel bytes for %d×%d×%d×%d %s", s.ID, im.SourcePath, len(im.Voxels),
					im.Channels, im.Depth, im.Height, im.Width, im.DType)
			}
			if len(im.SourceSHA256) != 64 || im.SourcePath == "" || filepath.IsAbs(im.SourcePath) {
				t.Errorf("%s: image provenance %q %q", s.ID, im.SourcePath, im.SourceSHA256)
			}
		}
		if s.Source == "" || s.Task == "" || s.License == "" {
			t.Errorf("%s: source/task/license unset: %q %q %q", s.ID, s.Source, s.Task, s.License)
		}
	}
}

// failure returns the quarantine error of the one failed unit whose error
// mentions want, failing the test if there is none.
func (r result) failure(t *testing.T, want string) error {
	t.Helper()
	for _, err := range r.failed {
		if strings.Contains(err.Error(), want) {
			return err
		}
	}
	t.Errorf("no quarantined unit with %q; got %v", want, r.failed)
	return nil
}

// byTask counts samples per task.
func (r result) byTask() map[string]int {
	m := map[string]int{}
	for _, s := range r.samples {
		m[s.Task]++
	}
	return m
}

// find returns the samples whose meta key has value (or all, for key "").
func (r result) find(pred func(s shards.Sample) bool) []shards.Sample {
	var out []shards.Sample
	for _, s := range r.samples {
		if pred(s) {
			out = append(out, s)
		}
	}
	return out
}

// yesNoBalance checks the yes/no questions of a result: never "no" about a
// label the row has, and per label as many no as yes answers (when enough
// rows lack the label). trueLabels gives a sample's true labels.
func yesNoBalance(t *testing.T, ss []shards.Sample, trueLabels func(s shards.Sample) []string) (yes, no map[string]int) {
	t.Helper()
	yes, no = map[string]int{}, map[string]int{}
	for _, s := range ss {
		l, ans := s.Meta["label"], s.Meta["answer"]
		if l == "" || ans == "" {
			continue
		}
		if !strings.Contains(s.Instruction, labelText(l)) && !strings.Contains(s.Instruction, l) {
			t.Errorf("%s: yes/no question %q does not name its label %q", s.ID, s.Instruction, l)
		}
		truth := trueLabels(s)
		has := contains(truth, l)
		switch ans {
		case "yes":
			yes[l]++
			if !has || s.Response != "Yes." {
				t.Errorf("%s: yes about %q but labels are %v (response %q)", s.ID, l, truth, s.Response)
			}
		case "no":
			no[l]++
			if has || s.Response != "No." {
				t.Errorf("%s: no about its own label %q (labels %v) — RadFM's negative-sampling bug", s.ID, l, truth)
			}
		}
	}
	return yes, no
}

func keysOf(m map[string]error) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sourceAt builds a source of type typ with only root set (every other
// parameter at its default), the way a user first points medmd at a
// download.
func sourceAt(t *testing.T, typ, root string) ingest.Source {
	t.Helper()
	base := t.TempDir() // an object-store root has no folder
	if !strings.Contains(root, "://") {
		var err error
		if root, err = filepath.Abs(root); err != nil {
			t.Fatal(err)
		}
		base = root
	}
	text := fmt.Sprintf("version: 1\npipelines:\n  - name: p\n    source: {type: %s, root: %q}\n    output: {dir: out}\n", typ, root)
	cfg, err := ingest.ParseConfig(filepath.Join(base, "pipelines.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Pipeline("p")
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := p.Build(cfg.BaseDir)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// runAt plans and reads a source with only root set.
func runAt(t *testing.T, typ, root string) result {
	t.Helper()
	return readAll(t, sourceAt(t, typ, root))
}

// planErr plans a source with only root set and returns the plan error.
func planErr(t *testing.T, typ, root string) error {
	t.Helper()
	_, err := sourceAt(t, typ, root).Plan(context.Background())
	return err
}

// copyFixture copies testdata/src into a fresh temporary folder, applying
// edits: a path mapped to "" is removed, to another path renamed.
func copyFixture(t *testing.T, src string, edits map[string]string) string {
	t.Helper()
	dst := t.TempDir()
	from := filepath.Join("testdata", src)
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		rel = filepath.ToSlash(rel)
		if to, ok := edits[rel]; ok {
			if to == "" {
				return nil
			}
			rel = to
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

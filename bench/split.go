package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/medmd/medmd/normalize/radfilter"
	"github.com/medmd/medmd/shards"
)

// Splits, in the order they take the quantile range [0, 1) of a stratum.
const (
	SplitTest  = "test"
	SplitVal   = "val"
	SplitTrain = "train"
)

// Tasks are the RadBench task types, one split manifest each (the five
// evaluation tasks of RadFM's RadBench). Caption and inline samples are
// training data only and get no RadBench manifest.
var Tasks = []string{shards.TaskModality, shards.TaskDiagnosis, shards.TaskVQA, shards.TaskReport, shards.TaskRationale}

// Splits lists the split names in output order.
var Splits = []string{SplitTrain, SplitVal, SplitTest}

// BuildOptions configure Build. Zero fields take the defaults.
type BuildOptions struct {
	// Seed keys the group hash; a new seed gives a new, equally valid split.
	Seed string
	// Test and Val are the fractions of groups (per stratum) held out;
	// the rest is train. Defaults 0.1 and 0.1.
	Test, Val float64
	// Unstratified assigns splits by thresholding each unit's hash alone,
	// so a unit's split never changes when other data is added, at the
	// cost of only approximate per-stratum fractions.
	Unstratified bool
	// NearThreshold is the dHash distance under which images of different
	// groups are treated as one unit (so a republished figure cannot sit in
	// train and test). Negative disables the linking. Default 10.
	NearThreshold int
	// MaxSharedGroups: an image found in more groups than this is taken
	// for boilerplate (a journal logo, a placeholder) and joins nothing;
	// otherwise one such image would fuse thousands of articles into one
	// unit. Default 8.
	MaxSharedGroups int
	Write           shards.WriteOptions
	// Force replaces a build of other parameters or input already in the
	// output folder; without it that is an error. A build of the same
	// ones is reused either way (BuildReport.UpToDate).
	Force bool
}

// DefaultSeed is the seed used when none is given.
const DefaultSeed = "radbench-v1"

func (o BuildOptions) withDefaults() (BuildOptions, error) {
	if o.Seed == "" {
		o.Seed = DefaultSeed
	}
	if o.Test == 0 && o.Val == 0 {
		o.Test, o.Val = 0.1, 0.1
	}
	if o.Test < 0 || o.Val < 0 || o.Test+o.Val > 1 || math.IsNaN(o.Test+o.Val) {
		return o, fmt.Errorf("split fractions test=%g val=%g: each must be ≥ 0 and together ≤ 1", o.Test, o.Val)
	}
	if o.NearThreshold == 0 {
		o.NearThreshold = 10
	}
	if o.MaxSharedGroups <= 0 {
		o.MaxSharedGroups = 8
	}
	return o, nil
}

// BuildReport is written as OUT_DIR/radbench.json: the parameters and the
// sample counts per task × split × source.
type BuildReport struct {
	Seed         string  `json:"seed"`
	Test         float64 `json:"test_fraction"`
	Val          float64 `json:"val_fraction"`
	Stratified   bool    `json:"stratified"`
	Input        string  `json:"input_manifest_hash"`
	Units        int     `json:"units"`
	LinkedGroups int     `json:"groups_linked_by_shared_images"`
	// BoilerplateImages counts images shared by more than MaxSharedGroups
	// groups, which were not used to join groups.
	BoilerplateImages int `json:"boilerplate_images"`
	// Counts[task][split][source] = samples.
	Counts map[string]map[string]map[string]int `json:"counts"`
	// Manifests[task][split] = path of the split manifest, relative to OUT_DIR.
	Manifests map[string]map[string]string `json:"manifests"`
	// UpToDate is true when Build found this exact build in the output
	// folder and wrote nothing.
	UpToDate bool `json:"-"`
}

// buildHash is the config hash of a build's split manifests: the
// parameters and the input corpus.
func buildHash(o BuildOptions, in *shards.Manifest) string {
	cfg, _ := json.Marshal(struct {
		Seed       string
		Test, Val  float64
		Stratified bool
		Near       int
		MaxShared  int
		Input      string
	}{o.Seed, o.Test, o.Val, !o.Unstratified, o.NearThreshold, o.MaxSharedGroups, in.Hash()})
	sum := sha256.Sum256(cfg)
	return fmt.Sprintf("%x", sum)
}

// existingBuild returns the report of the build already in outDir when
// its split manifests carry configHash and verify; otherwise nil, after
// removing the old build when force, or an error. radbench.json is
// removed first: without it the folder holds no build.
func existingBuild(outDir, configHash string, force bool) (*BuildReport, error) {
	b, err := os.ReadFile(filepath.Join(outDir, "radbench.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep BuildReport
	same := json.Unmarshal(b, &rep) == nil && len(rep.Manifests) > 0
	for _, bySplit := range rep.Manifests {
		for _, rel := range bySplit {
			m, err := shards.ReadManifest(filepath.Join(outDir, filepath.FromSlash(rel)))
			same = same && err == nil && m.ConfigHash == configHash && len(m.Problems()) == 0
		}
	}
	if same && !force {
		rep.UpToDate = true
		return &rep, nil
	}
	if !force {
		return nil, fmt.Errorf("%s already holds a RadBench build of other parameters or input (or a damaged one); pass --force to replace it, or choose another folder", outDir)
	}
	if err := os.Remove(filepath.Join(outDir, "radbench.json")); err != nil {
		return nil, err
	}
	for _, t := range Tasks {
		if err := os.RemoveAll(filepath.Join(outDir, t)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// unionFind joins groups that must share a split.
type unionFind map[string]string

func (u unionFind) find(x string) string {
	for {
		p, ok := u[x]
		if !ok || p == x {
			return x
		}
		if gp, ok := u[p]; ok {
			u[x] = gp
		}
		x = p
	}
}

// union keeps the lexicographically smaller root, so the result does not
// depend on the order links are found in.
func (u unionFind) union(a, b string) bool {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return false
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	u[rb] = ra
	if _, ok := u[ra]; !ok {
		u[ra] = ra
	}
	return true
}

// unitHash is hash(seed, unit) as a number in [0, 1).
func unitHash(seed, unit string) float64 {
	h := sha256.New()
	h.Write([]byte(seed))
	h.Write([]byte{0})
	h.Write([]byte(unit))
	return float64(binary.BigEndian.Uint64(h.Sum(nil))>>11) / (1 << 53)
}

// splitOf maps a quantile q ∈ [0, 1) to a split: [0, test) test,
// [test, test+val) val, the rest train.
func splitOf(q, test, val float64) string {
	switch {
	case q < test:
		return SplitTest
	case q < test+val:
		return SplitVal
	}
	return SplitTrain
}

// AssignSplits decides the split of every unit. A unit is a group, or
// several groups joined because they share an image; its name is its
// smallest group. Units are stratified by their stratum (sources and tasks
// they contain): within a stratum, units are ordered by unitHash and the
// k-th of n takes quantile (k+½)/n, so every stratum gets the requested
// fractions to within one unit, and the split of a unit is a function of
// hash(seed, unit) and of its stratum's other hashes. With unstratified,
// and in strata too small to give the smaller held-out split one unit,
// the quantile is unitHash itself.
func AssignSplits(seed string, test, val float64, stratified bool, strata map[string]string) map[string]string {
	byStratum := map[string][]string{}
	for unit, st := range strata {
		byStratum[st] = append(byStratum[st], unit)
	}
	out := make(map[string]string, len(strata))
	for _, units := range byStratum {
		hs := make(map[string]float64, len(units))
		for _, u := range units {
			hs[u] = unitHash(seed, u)
		}
		sort.Slice(units, func(i, j int) bool {
			if hs[units[i]] != hs[units[j]] {
				return hs[units[i]] < hs[units[j]]
			}
			return units[i] < units[j]
		})
		// A stratum too small to hold one unit of the smaller held-out
		// split would never reach it by rank; there the hash decides alone.
		byRank := stratified
		if f := min(test, val); f > 0 && float64(len(units))*f < 1 {
			byRank = false
		}
		for k, u := range units {
			q := hs[u]
			if byRank {
				q = (float64(k) + 0.5) / float64(len(units))
			}
			out[u] = splitOf(q, test, val)
		}
	}
	return out
}

// Build reads the corpus of inManifest twice: first to learn every
// sample's group, source, task and image hashes (joining groups that share
// an identical or near-duplicate image), then to write one corpus per
// RadBench task and split under outDir/TASK/SPLIT, with Sample.Split set.
// The same input and options give byte-identical outputs.
func Build(ctx context.Context, inManifest, outDir string, opts BuildOptions) (*BuildReport, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	in, err := shards.ReadManifest(inManifest)
	if err != nil {
		return nil, err
	}
	if rep, err := existingBuild(outDir, buildHash(o, in), o.Force); rep != nil || err != nil {
		return rep, err
	}

	// Pass 1: groups, strata, and which groups share each image (keyed by
	// the first sample that had it).
	uf := unionFind{}
	var ng *radfilter.NearGroups
	if o.NearThreshold >= 0 {
		ng = radfilter.NewNearGroups(o.NearThreshold)
	}
	groupOfID := map[string]string{}
	groupInfo := map[string]map[string]bool{} // group → {"source\x00task"}
	shared := map[string]map[string]bool{}    // first sample id → groups with its image
	for s, err := range in.Iter(ctx) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", inManifest, err)
		}
		g := s.Group
		if g == "" {
			g = "id:" + s.ID // no group: the sample is its own unit
		}
		if _, dup := groupOfID[s.ID]; dup {
			return nil, fmt.Errorf("%s: sample id %s occurs twice", inManifest, s.ID)
		}
		groupOfID[s.ID] = g
		if groupInfo[g] == nil {
			groupInfo[g] = map[string]bool{}
			uf[g] = g
		}
		groupInfo[g][s.Source+"\x00"+s.Task] = true
		if ng != nil {
			for _, first := range ng.Link(s.ID, radfilter.FingerprintOf(&s)) {
				if shared[first] == nil {
					shared[first] = map[string]bool{groupOfID[first]: true}
				}
				shared[first][g] = true
			}
		}
	}
	linked, boilerplate := 0, 0
	for _, groups := range shared {
		if len(groups) > o.MaxSharedGroups {
			boilerplate++
			continue
		}
		var first string
		for g := range groups {
			if first == "" {
				first = g
			} else if uf.union(first, g) {
				linked++
			}
		}
	}
	// Strata of units: the sorted set of source/task pairs of their groups.
	unitParts := map[string]map[string]bool{}
	for g, parts := range groupInfo {
		u := uf.find(g)
		if unitParts[u] == nil {
			unitParts[u] = map[string]bool{}
		}
		for p := range parts {
			unitParts[u][p] = true
		}
	}
	strata := make(map[string]string, len(unitParts))
	for u, parts := range unitParts {
		ps := make([]string, 0, len(parts))
		for p := range parts {
			ps = append(ps, p)
		}
		sort.Strings(ps)
		strata[u] = strings.Join(ps, "\x01")
	}
	splitOfUnit := AssignSplits(o.Seed, o.Test, o.Val, !o.Unstratified, strata)

	// Pass 2: write every task × split.
	rep := &BuildReport{Seed: o.Seed, Test: o.Test, Val: o.Val, Stratified: !o.Unstratified, Input: in.Hash(),
		Units: len(unitParts), LinkedGroups: linked, BoilerplateImages: boilerplate,
		Counts: map[string]map[string]map[string]int{}, Manifests: map[string]map[string]string{}}
	configHash := buildHash(o, in)
	writers := map[string]*corpusWriter{}
	isTask := map[string]bool{}
	for _, t := range Tasks {
		isTask[t] = true
		rep.Counts[t] = map[string]map[string]int{}
		rep.Manifests[t] = map[string]string{}
		for _, sp := range Splits {
			dir := filepath.Join(outDir, t, sp)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			writers[t+"/"+sp] = newCorpusWriter(dir, "radbench-"+t+"-"+sp, configHash, o.Write)
			rep.Counts[t][sp] = map[string]int{}
			rep.Manifests[t][sp] = filepath.ToSlash(filepath.Join(t, sp, shards.ManifestFile))
		}
	}
	fail := func(err error) (*BuildReport, error) {
		for _, w := range writers {
			w.abort()
		}
		return nil, err
	}
	for s, err := range in.Iter(ctx) {
		if err != nil {
			return fail(fmt.Errorf("%s: %w", inManifest, err))
		}
		if !isTask[s.Task] {
			continue
		}
		sp := splitOfUnit[uf.find(groupOfID[s.ID])]
		s.Split = sp
		if err := writers[s.Task+"/"+sp].add(&s); err != nil {
			return fail(err)
		}
		rep.Counts[s.Task][sp][s.Source]++
	}
	for _, t := range Tasks {
		for _, sp := range Splits {
			if _, err := writers[t+"/"+sp].finish(); err != nil {
				return fail(err)
			}
		}
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := shards.PublishBytes(nil, filepath.Join(outDir, "radbench.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	return rep, nil
}

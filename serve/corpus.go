package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/medmd/medmd/ingest/radmd"
	"github.com/medmd/medmd/shards"
)

// Corpus is one served corpus: its manifest, index and open Arrow parts
// (memory-mapped for the life of the Corpus), plus the reports found
// beside it. A Corpus is immutable once opened and safe for concurrent
// readers; a changed manifest makes a new Corpus (see Server.refresh).
type Corpus struct {
	Name         string
	ManifestPath string
	Manifest     *shards.Manifest
	Index        *Index
	modTime      time.Time
	parts        []*shards.Shard
	byID         map[string]int32

	// Exclusions is the RadMD exclusion report of a RadMD output folder
	// (nil otherwise); exclByID maps an id to its row, keptBy the kept id
	// of a duplicate to the ids dropped in its favour.
	Exclusions []radmd.Exclusion
	exclByID   map[string]int
	keptBy     map[string][]string
	// RadMDSummary is summary.json of a RadMD output folder.
	RadMDSummary *radmd.Summary
	// Bench is set for a RadBench split manifest (OUT_DIR/TASK/SPLIT).
	Bench *BenchSplit
	// Quarantine lists the ingest quarantine records (quarantine.jsonl).
	Quarantine []shards.QuarantineRecord
}

// BenchSplit names the RadBench output folder, task and split a corpus is.
type BenchSplit struct {
	Root, Task, Split string
}

// manifestPaths expands one command-line argument: a manifest.json, a
// corpus folder, or a RadBench output folder (radbench.json beside one
// TASK/SPLIT/manifest.json per split).
func manifestPaths(arg string) ([]string, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{arg}, nil
	}
	if _, err := os.Stat(filepath.Join(arg, shards.ManifestFile)); err == nil {
		return []string{filepath.Join(arg, shards.ManifestFile)}, nil
	}
	if _, err := os.Stat(filepath.Join(arg, "radbench.json")); err == nil {
		ms, _ := filepath.Glob(filepath.Join(arg, "*", "*", shards.ManifestFile))
		sort.Strings(ms)
		if len(ms) > 0 {
			return ms, nil
		}
	}
	return nil, fmt.Errorf("%s: no manifest.json (nor radbench.json with split manifests)", arg)
}

// openCorpus reads the manifest at path, loads or builds its index, maps
// its Arrow parts and reads the reports beside it.
func openCorpus(ctx context.Context, path, name string, log *slog.Logger) (*Corpus, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	m, err := shards.ReadManifest(path)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ix, rebuilt, saveErr, err := LoadIndex(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	if rebuilt {
		log.Info("serve: indexed", "corpus", name, "samples", ix.Len(), "seconds", time.Since(start).Seconds())
	}
	if saveErr != nil {
		log.Warn("serve: index kept in memory only", "corpus", name, "err", saveErr)
	}
	c := &Corpus{Name: name, ManifestPath: path, Manifest: m, Index: ix, modTime: fi.ModTime(), byID: make(map[string]int32, ix.Len())}
	for i, id := range ix.IDs {
		if _, dup := c.byID[id]; !dup {
			c.byID[id] = int32(i)
		}
	}
	for _, p := range m.ArrowPaths() {
		sh, err := shards.OpenShard(p)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.parts = append(c.parts, sh)
	}
	dir := m.Dir()
	if ex := radmd.ReportPath(dir, radmd.ExclusionsFile); fileExists(ex) {
		if c.Exclusions, err = radmd.ReadExclusions(ctx, ex); err != nil {
			log.Warn("serve: exclusion report not read", "corpus", name, "err", err)
		}
		c.exclByID = map[string]int{}
		c.keptBy = map[string][]string{}
		for i, e := range c.Exclusions {
			c.exclByID[e.ID] = i
			if e.KeptID != "" {
				c.keptBy[e.KeptID] = append(c.keptBy[e.KeptID], e.ID)
			}
		}
		if b, err := os.ReadFile(radmd.ReportPath(dir, radmd.SummaryJSONFile)); err == nil {
			var s radmd.Summary
			if json.Unmarshal(b, &s) == nil {
				c.RadMDSummary = &s
			}
		}
	}
	split := filepath.Dir(path)
	task := filepath.Dir(split)
	if root := filepath.Dir(task); fileExists(filepath.Join(root, "radbench.json")) {
		c.Bench = &BenchSplit{Root: root, Task: filepath.Base(task), Split: filepath.Base(split)}
	}
	c.Quarantine = readQuarantine(filepath.Join(dir, "quarantine.jsonl"), log)
	return c, nil
}

// readQuarantine reads quarantine records; a bad line is logged and
// skipped (the overview shows what could be read).
func readQuarantine(path string, log *slog.Logger) []shards.QuarantineRecord {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []shards.QuarantineRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		var q shards.QuarantineRecord
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			log.Warn("serve: quarantine line skipped", "file", path, "line", n, "err", err)
			continue
		}
		out = append(out, q)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Close unmaps the corpus's Arrow parts. Samples read from it must not be
// used afterwards.
func (c *Corpus) Close() error {
	var errs []error
	for _, sh := range c.parts {
		errs = append(errs, sh.Close())
	}
	return errors.Join(errs...)
}

// Lookup returns the index position of id.
func (c *Corpus) Lookup(id string) (int, bool) {
	i, ok := c.byID[id]
	return int(i), ok
}

// Sample decodes sample i from its mapped part. Voxels alias the mapping
// and stay valid while the Corpus is open.
func (c *Corpus) Sample(i int) (shards.Sample, error) {
	ix := c.Index
	p := int(ix.Part[i])
	if p < 0 || p >= len(c.parts) {
		return shards.Sample{}, fmt.Errorf("%s: sample %d: part %d of %d", c.Name, i, p, len(c.parts))
	}
	return c.parts[p].Sample(int(ix.Row[i]))
}

// Exclusion returns the RadMD exclusion row of id, if any.
func (c *Corpus) Exclusion(id string) (radmd.Exclusion, bool) {
	i, ok := c.exclByID[id]
	if !ok {
		return radmd.Exclusion{}, false
	}
	return c.Exclusions[i], true
}

// corpusNames gives each manifest a short unique name: its folder's
// name, prefixed by parent folders until names differ (RadBench splits
// all end in TASK/SPLIT).
func corpusNames(paths []string) []string {
	names := make([]string, len(paths))
	for depth := 1; depth <= 4; depth++ {
		seen := map[string]int{}
		for i, p := range paths {
			parts := strings.Split(filepath.ToSlash(filepath.Dir(filepath.Clean(p))), "/")
			names[i] = strings.Join(parts[max(0, len(parts)-depth):], "/")
			seen[names[i]]++
		}
		unique := true
		for _, n := range seen {
			unique = unique && n == 1
		}
		if unique {
			return names
		}
	}
	for i := range names {
		names[i] = fmt.Sprintf("%d-%s", i+1, names[i])
	}
	return names
}

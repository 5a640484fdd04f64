// Package radmd runs the RadMD filter (normalize/radfilter) over a MedMD
// corpus: it reads the input manifest and any RadBench test manifests,
// applies the rules to every sample in corpus order, and writes the kept
// samples as a new corpus plus the exclusion report and summary.
//
// normalize/radfilter holds the rules and does no I/O; this package is the
// thin I/O driver around it.
package radmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/normalize/radfilter"
	"github.com/medmd/medmd/shards"
)

// Report file names, inside OUT_DIR/ReportsDir: out of the shards' folder
// level, so a glob over a corpus's Parquet parts ('out/*/*.parquet' in
// DuckDB) reaches only shards, which share one schema. Use ReportPath to
// find them (it also finds older folders' reports beside the shards).
const (
	ReportsDir      = "reports"
	ExclusionsFile  = "exclusions.parquet"
	SummaryJSONFile = "summary.json"
	SummaryMDFile   = "summary.md"
	// Pipeline is the pipeline name written into the RadMD manifest.
	Pipeline = "radmd"
)

// Options configure Run. The zero value uses the built-in default rules.
type Options struct {
	// RulesPath is a rules YAML file; "" means radfilter.DefaultRules().
	RulesPath string
	// TestManifests are RadBench test manifests checked for leakage in
	// addition to those the rules file lists.
	TestManifests []string
	// Write tunes the output shards.
	Write shards.WriteOptions
	// Overrides is a curator labels file (see Label): a sample labelled
	// keep is kept whatever the rules say, one labelled drop is dropped
	// (reason ReasonCurator); the summary lists both. "" means none.
	Overrides string
	// Force replaces a RadMD corpus already in the output folder that was
	// built from another input or rules; without it that is an error
	// (one built from the same input and rules is reused either way).
	Force bool
}

// Result is what Run wrote.
type Result struct {
	Manifest *shards.Manifest
	Summary  *Summary
	// UpToDate is true when the output folder already held this exact
	// RadMD corpus (same input manifest, rules and labels) and nothing was
	// written.
	UpToDate bool
}

// LoadRules reads the rules file (or the defaults) and resolves its test
// manifests relative to the file's folder.
func LoadRules(path string) (radfilter.Rules, error) {
	if path == "" {
		return radfilter.DefaultRules(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return radfilter.Rules{}, fmt.Errorf("rules: %w", err)
	}
	r, err := radfilter.ParseRules(path, b)
	if err != nil {
		return radfilter.Rules{}, err
	}
	for i, m := range r.Leakage.TestManifests {
		if !filepath.IsAbs(m) {
			r.Leakage.TestManifests[i] = filepath.Join(filepath.Dir(path), m)
		}
	}
	return r, nil
}

// BuildLeakIndex indexes every sample of the given test manifests.
func BuildLeakIndex(ctx context.Context, threshold int, manifests []string) (*radfilter.LeakIndex, error) {
	li := radfilter.NewLeakIndex(threshold)
	for _, path := range manifests {
		m, err := shards.ReadManifest(path)
		if err != nil {
			return nil, fmt.Errorf("test manifest: %w", err)
		}
		for s, err := range m.Iter(ctx) {
			if err != nil {
				return nil, fmt.Errorf("test manifest %s: %w", path, err)
			}
			li.Add(&s, radfilter.FingerprintOf(&s))
		}
	}
	return li, nil
}

// Run filters the corpus of inManifest into outDir. outDir must not already
// hold shards (a RadMD corpus is rebuilt, not appended to). On error no
// manifest.json is published in outDir.
func Run(ctx context.Context, inManifest, outDir string, opts Options) (*Result, error) {
	r, err := LoadRules(opts.RulesPath)
	if err != nil {
		return nil, err
	}
	r.Leakage.TestManifests = append(r.Leakage.TestManifests, opts.TestManifests...)
	in, err := shards.ReadManifest(inManifest)
	if err != nil {
		return nil, err
	}
	var leak *radfilter.LeakIndex
	if r.Leakage.Enabled && len(r.Leakage.TestManifests) > 0 {
		if leak, err = BuildLeakIndex(ctx, r.Leakage.HammingThreshold, r.Leakage.TestManifests); err != nil {
			return nil, err
		}
	}
	f, err := radfilter.NewFilter(r, leak)
	if err != nil {
		return nil, err
	}
	var labels *Labels
	if opts.Overrides != "" {
		if labels, err = ReadLabels(opts.Overrides); err != nil {
			return nil, err
		}
	}
	rj, _ := json.Marshal(r)
	h := sha256.New()
	h.Write(rj)
	h.Write([]byte(in.Hash()))
	if labels != nil {
		// Overrides change the output, so they are part of its config.
		lj, _ := json.Marshal(labels.ByID)
		h.Write(lj)
	}
	configHash := hex.EncodeToString(h.Sum(nil))
	if res, err := existingOutput(outDir, configHash, opts.Force); res != nil || err != nil {
		return res, err
	}

	sum := newSummary()
	if labels != nil {
		sum.Overrides = &OverrideReport{File: opts.Overrides, Kept: []Override{}, Dropped: []Override{}, Skipped: labels.Skipped}
	}
	sum.Rules = opts.RulesPath
	sum.TestManifests = append(sum.TestManifests, r.Leakage.TestManifests...)
	var excl []Exclusion
	var iterErr error
	start, last := time.Now(), time.Now()
	kept := func(yield func(*shards.Sample) bool) {
		for s, err := range in.Iter(ctx) {
			if err != nil {
				iterErr = fmt.Errorf("%s: %w", inManifest, err)
				return
			}
			reason := ""
			if err := f.Apply(&s); err != nil {
				var de *normalize.DropError
				if !errors.As(err, &de) {
					iterErr = fmt.Errorf("sample %s: %w", s.ID, err)
					return
				}
				reason = de.Reason
				if labels != nil && labels.ByID[s.ID] == LabelKeep {
					sum.Overrides.Kept = append(sum.Overrides.Kept, Override{ID: s.ID, Rule: de.Reason})
					reason = ""
				} else {
					excl = append(excl, Exclusion{ID: s.ID, Source: s.Source, Task: s.Task, Reason: de.Reason, Detail: de.Detail, KeptID: de.KeptID})
				}
			} else if labels != nil && labels.ByID[s.ID] == LabelDrop {
				reason = ReasonCurator
				sum.Overrides.Dropped = append(sum.Overrides.Dropped, Override{ID: s.ID})
				excl = append(excl, Exclusion{ID: s.ID, Source: s.Source, Task: s.Task, Reason: reason, Detail: "labelled drop in " + opts.Overrides})
			}
			sum.add(s.Source, reason)
			if time.Since(last) > 5*time.Second {
				last = time.Now()
				slog.Info("radmd", "samples", sum.Input, "kept", sum.Kept, "per_s", float64(sum.Input)/time.Since(start).Seconds())
			}
			if reason == "" && !yield(&s) {
				return
			}
		}
	}
	m, err := writeCorpus(outDir, configHash, kept, opts.Write)
	if err == nil && iterErr != nil {
		err = iterErr
	}
	if err != nil {
		return nil, err
	}
	// Filtering keeps every image as it was: the corpus is still what the
	// input's model_input stage made, and the trainer checks that record.
	m.ModelInput = in.ModelInput
	reports := filepath.Join(outDir, ReportsDir)
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return nil, err
	}
	if err := WriteExclusions(filepath.Join(reports, ExclusionsFile), excl); err != nil {
		return nil, err
	}
	if err := shards.PublishBytes(nil, filepath.Join(reports, SummaryJSONFile), sum.JSON()); err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	if err := shards.PublishBytes(nil, filepath.Join(reports, SummaryMDFile), []byte(sum.Markdown())); err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	// The manifest is published last: a folder with manifest.json is a
	// complete RadMD corpus with its report.
	if err := m.Write(filepath.Join(outDir, shards.ManifestFile)); err != nil {
		return nil, err
	}
	return &Result{Manifest: m, Summary: sum}, nil
}

// writeCorpus writes the kept samples as shards and returns their manifest
// without publishing it (unlike shards.WriteCorpus), so that an input error
// found mid-way never leaves a manifest of a partial corpus.
func writeCorpus(dir, configHash string, samples iter.Seq[*shards.Sample], opts shards.WriteOptions) (*shards.Manifest, error) {
	if _, err := shards.WriteShards(dir, samples, opts); err != nil {
		return nil, err
	}
	return shards.BuildManifest(dir, Pipeline, configHash)
}

// existingOutput decides what to do with what the output folder holds. A
// published RadMD corpus of the same config hash whose files verify is
// reused: the result is returned (UpToDate) from its manifest and summary.
// One of another hash is an error unless force, which removes it. Shard
// files a failed earlier run left behind (no manifest.json was published,
// so nothing refers to them) are removed. A nil result means: build.
func existingOutput(dir, configHash string, force bool) (*Result, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m, err := shards.ReadManifest(filepath.Join(dir, shards.ManifestFile)); err == nil {
		if m.ConfigHash == configHash && !force && len(m.Problems()) == 0 {
			if b, err := os.ReadFile(ReportPath(dir, SummaryJSONFile)); err == nil {
				sum := newSummary()
				if json.Unmarshal(b, sum) == nil {
					return &Result{Manifest: m, Summary: sum, UpToDate: true}, nil
				}
			}
		}
		if !force {
			return nil, fmt.Errorf("%s already holds a RadMD corpus built from another input, rules or labels (or damaged); pass --force to replace it, or choose another folder", dir)
		}
		// The manifest goes first: without it the folder holds no corpus.
		if err := os.Remove(filepath.Join(dir, shards.ManifestFile)); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) && !force {
		return nil, fmt.Errorf("%s: %w (pass --force to replace it)", dir, err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "shard-") {
			slog.Warn("radmd: removing leftover of an unfinished run", "file", filepath.Join(dir, e.Name()))
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

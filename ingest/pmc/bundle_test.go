package pmc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest"
)

// TestBundledSampleCorpus reads testdata/pmc (the input of the pmc-sample
// pipeline) through the registered source with a local folder as base URL,
// as `medmd run` does: no network, with the default licence filter and with
// public domain added to it.
func TestBundledSampleCorpus(t *testing.T) {
	tests := []struct {
		name                   string
		licences               []string
		oa, inline, casereport int
		// publicDomain is PMC2599765's SPDX identifier ("" = dropped): its
		// <license> links creativecommons.org/publicdomain/mark/1.0/.
		publicDomain string
	}{
		{"default licences drop the public-domain article", DefaultLicences, 14, 5, 1, ""},
		{"public domain listed", append(slices.Clone(DefaultLicences), "public domain"), 17, 6, 1, "CC-PDM-1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := newSource(ingest.Params{
				"layout": LayoutPackages, "oa_list": "oa_file_list.csv", "base_url": ".", "cache_dir": t.TempDir(),
				"licences": tc.licences, "max_images_inline": 3, "max_images_case": 8,
				"max_image_pixels": 1 << 20, "min_image_size": 32, "max_image_aspect": 10.0, "timeout": time.Minute, "retries": 1,
			}, "../../testdata/pmc")
			if err != nil {
				t.Fatal(err)
			}
			units, err := src.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// The list gives PMC2599765 no code, so its own <license> decides
			// after parsing; only the CC BY-NC article is filtered at planning.
			if len(units) != 6 {
				t.Fatalf("%d units, want 6 (the CC BY-NC article filtered out)", len(units))
			}
			counts := map[string]int{}
			licences := map[string]string{}
			for _, u := range units {
				ss, err := src.Read(context.Background(), u)
				if err != nil {
					t.Fatalf("%s: %v", u.ID, err)
				}
				for _, s := range ss {
					counts[s.Source]++
					licences[s.Group] = s.License
					if len(s.Images) == 0 {
						t.Errorf("%s %s: no images", s.Group, s.Source)
					}
				}
			}
			if counts[SourceOA] != tc.oa || counts[SourceInline] != tc.inline || counts[SourceCaseReport] != tc.casereport {
				t.Errorf("samples %v, want %d pmc-oa, %d pmc-inline, %d pmc-casereport", counts, tc.oa, tc.inline, tc.casereport)
			}
			// SPDX identifiers: the article's link gives PMC3166277's version;
			// PMC2599765's <license> links the Public Domain Mark (CC-PDM-1.0).
			if licences["PMC2599765"] != tc.publicDomain || licences["PMC3166277"] != "CC-BY-2.0" {
				t.Errorf("licences %v", licences)
			}
		})
	}
}

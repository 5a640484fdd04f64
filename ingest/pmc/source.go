package pmc

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// SourceName is the name the source registers under in pipelines.yaml.
const SourceName = "pmc"

// Emit kinds.
const (
	EmitOA         = "oa"
	EmitInline     = "inline"
	EmitCaseReport = "casereport"
)

// Spec is the "pmc" source's parameter spec.
var Spec = ingest.Spec{
	Name:    SourceName,
	Summary: "PubMed Central Open Access articles: OA list → filtered, rate-limited, resumable package downloads → JATS → figure–caption (pmc-oa), interleaved article (pmc-inline) and case-report (pmc-casereport) samples",
	Fields: []ingest.Field{
		{Name: "oa_list", Type: ingest.TypeString, Required: true,
			Description: "the OA file list (oa_file_list.csv): a local path (relative to the pipelines file) or an http(s) URL, downloaded once into cache_dir",
			Example:     "https://ftp.ncbi.nlm.nih.gov/pub/pmc/oa_file_list.csv"},
		{Name: "base_url", Type: ingest.TypeString, Default: DefaultBaseURL,
			Description: "where the list's File paths live: an http(s) URL, a file:// URL or a local folder (read in place, no network)",
			Example:     "testdata/pmc"},
		{Name: "cache_dir", Type: ingest.TypeString, Default: ".cache/pmc",
			Description: "download cache (relative to the pipelines file); a package with a verified <file>.ok sidecar is never downloaded again",
			Example:     "/scratch/pmc-cache"},
		{Name: "licences", Type: ingest.TypeStrings, Default: append([]string(nil), DefaultLicences...),
			Description: "licence families allowed (versions ignored); rows outside it are dropped before download. Empty: all",
			Example:     "[CC0, CC BY]"},
		{Name: "noncommercial", Type: ingest.TypeBool, Default: false,
			Description: "also allow CC BY-NC, CC BY-NC-SA and CC BY-NC-ND articles",
			Example:     "true"},
		{Name: "pmcids", Type: ingest.TypeStrings, Default: []string{},
			Description: "only these articles (PMC ids)",
			Example:     "[PMC3460867]"},
		{Name: "since", Type: ingest.TypeString, Default: "",
			Description: "only rows updated on or after this date (YYYY-MM-DD)",
			Example:     "2020-01-01"},
		{Name: "journals", Type: ingest.TypeStrings, Default: []string{},
			Description: "only these journals (the abbreviation the OA list citation starts with, case-insensitive)",
			Example:     "[Radiol Case Rep, PLoS One]"},
		{Name: "max_articles", Type: ingest.TypeInt, Default: 0,
			Description: "at most this many articles, the first by PMCID after filtering (0: all)",
			Example:     "1000"},
		{Name: "concurrency", Type: ingest.TypeInt, Default: 4,
			Description: "downloads in flight at once", Example: "8"},
		{Name: "rps", Type: ingest.TypeFloat, Default: 3.0,
			Description: "requests started per second at most (NCBI asks for no more than 3 without an API key); 0: unlimited",
			Example:     "10"},
		{Name: "timeout", Type: ingest.TypeDuration, Default: "2m",
			Description: "time limit of one download attempt", Example: "30s"},
		{Name: "retries", Type: ingest.TypeInt, Default: 5,
			Description: "retries after the first attempt on timeouts, truncation, 408, 429 and 5xx (Retry-After honoured)",
			Example:     "3"},
		{Name: "backoff", Type: ingest.TypeDuration, Default: "1s",
			Description: "first retry delay; doubles per retry with jitter", Example: "500ms"},
		{Name: "max_backoff", Type: ingest.TypeDuration, Default: "1m",
			Description: "longest retry delay (a Retry-After may ask for up to 10m)", Example: "30s"},
		{Name: "max_package_bytes", Type: ingest.TypeInt, Default: int(DefaultLimits.MaxTotalBytes),
			Description: "bytes one package may extract; beyond it the article is quarantined", Example: "512MiB"},
		{Name: "max_member_bytes", Type: ingest.TypeInt, Default: int(DefaultLimits.MaxMemberBytes),
			Description: "larger package members are refused and reported", Example: "64MiB"},
		{Name: "max_image_pixels", Type: ingest.TypeInt, Default: 64 << 20,
			Description: "figures whose declared width×height exceeds this are dropped before decoding", Example: "25000000"},
		{Name: "min_image_size", Type: ingest.TypeInt, Default: 32,
			Description: "figures narrower or shorter than this many pixels are dropped (icons, spacers); -1 disables", Example: "64"},
		{Name: "max_image_aspect", Type: ingest.TypeFloat, Default: 10.0,
			Description: "figures whose long/short side ratio exceeds this are dropped (banners); -1 disables", Example: "5"},
		{Name: "emit", Type: ingest.TypeStrings, Default: []string{EmitOA, EmitInline, EmitCaseReport},
			Description: "sample kinds: oa (one per figure), inline (one per article), casereport (case reports: the case text as a report, plus one vqa sample per question–answer pair)",
			Example:     "[oa]"},
		{Name: "caption_prompt", Type: ingest.TypeString, Default: "",
			Description: "instruction of pmc-oa samples (the figure sits at its start); empty leaves it empty",
			Example:     "Describe this figure."},
		{Name: "split_panels", Type: ingest.TypeBool, Default: false,
			Description: "for compound figures, one pmc-oa sample per panel (whole image, panel sub-caption) instead of one per figure",
			Example:     "true"},
		{Name: "max_images_inline", Type: ingest.TypeInt, Default: 3,
			Description: "figures placed in a pmc-inline sample, in order of first mention (RadFM used 3)", Example: "5"},
		{Name: "max_images_case", Type: ingest.TypeInt, Default: 8,
			Description: "figures placed in a pmc-casereport sample", Example: "4"},
	},
}

func init() {
	ingest.RegisterSource(Spec, newSource)
}

// Source plans PMC articles from an OA list and reads them into samples.
type Source struct {
	oaList  string
	filter  Filter
	fetcher *Fetcher
	opt     SampleOptions
}

func newSource(p ingest.Params, baseDir string) (ingest.Source, error) {
	abs := func(s string) string {
		if s == "" || strings.Contains(s, "://") || filepath.IsAbs(s) {
			return s
		}
		return filepath.Join(baseDir, s)
	}
	s := &Source{
		oaList: abs(p.String("oa_list")),
		filter: Filter{
			Licences:      p.Strings("licences"),
			NonCommercial: p.Bool("noncommercial"),
			PMCIDs:        p.Strings("pmcids"),
			Journals:      p.Strings("journals"),
			MaxArticles:   p.Int("max_articles"),
		},
		fetcher: &Fetcher{
			Base:        abs(p.String("base_url")),
			CacheDir:    abs(p.String("cache_dir")),
			Concurrency: p.Int("concurrency"),
			RPS:         p.Float("rps"),
			Timeout:     p.Duration("timeout"),
			Retries:     p.Int("retries"),
			Backoff:     p.Duration("backoff"),
			MaxBackoff:  p.Duration("max_backoff"),
			Limits: Limits{
				MaxTotalBytes:  int64(p.Int("max_package_bytes")),
				MaxMemberBytes: int64(p.Int("max_member_bytes")),
			},
		},
		opt: SampleOptions{
			CaptionPrompt:   p.String("caption_prompt"),
			SplitPanels:     p.Bool("split_panels"),
			MaxImagesInline: p.Int("max_images_inline"),
			MaxImagesCase:   p.Int("max_images_case"),
			Image: normalize.Image2DOptions{
				MaxPixels: p.Int("max_image_pixels"),
				MinSize:   p.Int("min_image_size"),
				MaxAspect: p.Float("max_image_aspect"),
			},
		},
	}
	if s.oaList == "" {
		return nil, fmt.Errorf("pmc: oa_list is empty")
	}
	if since := p.String("since"); since != "" {
		t, err := time.Parse("2006-01-02", since)
		if err != nil {
			return nil, fmt.Errorf("pmc: since %q: want YYYY-MM-DD", since)
		}
		s.filter.Since = t
	}
	for _, e := range p.Strings("emit") {
		switch e {
		case EmitOA:
			s.opt.OA = true
		case EmitInline:
			s.opt.Inline = true
		case EmitCaseReport:
			s.opt.CaseReport = true
		default:
			return nil, fmt.Errorf("pmc: emit: unknown kind %q (want oa, inline, casereport)", e)
		}
	}
	if _, ok := p["emit"]; !ok {
		s.opt.OA, s.opt.Inline, s.opt.CaseReport = true, true, true
	}
	if s.opt.MaxImagesInline <= 0 {
		s.opt.MaxImagesInline = 3
	}
	if s.opt.MaxImagesCase <= 0 {
		s.opt.MaxImagesCase = 8
	}
	return s, nil
}

// NewSource builds a source outside a pipelines file (tests, tools).
func NewSource(oaList string, filter Filter, fetcher *Fetcher, opt SampleOptions) *Source {
	return &Source{oaList: oaList, filter: filter, fetcher: fetcher, opt: opt}
}

// Plan reads and filters the OA list; one unit per article, ordered by
// PMCID. Nothing but the list is downloaded.
func (s *Source) Plan(ctx context.Context) ([]ingest.Unit, error) {
	p, err := s.fetcher.File(ctx, s.oaList)
	if err != nil {
		return nil, fmt.Errorf("pmc: oa_list: %w", err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("pmc: oa_list: %w", err)
	}
	defer f.Close()
	kept, err := s.filter.ReadFiltered(f, p)
	if err != nil {
		return nil, err
	}
	slog.Debug("pmc plan", "kept", len(kept))
	units := make([]ingest.Unit, len(kept))
	dir, local := localBase(s.fetcher.Base)
	for i, r := range kept {
		units[i] = ingest.Unit{ID: r.PMCID, Paths: []string{r.File}, Data: r}
		// A local package's size is one stat away; remote sizes are unknown
		// until downloaded.
		if local {
			if rel, err := safeRel(r.File); err == nil {
				if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err == nil {
					units[i].Bytes = st.Size()
				}
			}
		}
	}
	return units, nil
}

// Read downloads (or finds cached) the unit's package, unpacks it safely,
// parses the article and builds its samples.
func (s *Source) Read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	row, ok := u.Data.(OARow)
	if !ok {
		return nil, fmt.Errorf("pmc: unit %s: no OA list row", u.ID)
	}
	p, err := s.fetcher.Package(ctx, row.File)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.ID, err)
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.ID, err)
	}
	// Streamed: only the article and its images are held in memory.
	pkg, err := ReadPackage(bufio.NewReaderSize(fh, 1<<16), p, s.fetcher.Limits, true)
	fh.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.ID, err)
	}
	// Provenance names the package by its OA-list path, not where this
	// machine keeps it, so shards stay identical across checkouts.
	pkg.Name = row.File
	for _, r := range pkg.Refused {
		slog.Warn("pmc: refused package member", "pmcid", u.ID, "package", p, "member", r.Member, "reason", r.Reason)
	}
	xml, err := pkg.Article()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.ID, err)
	}
	art, err := jats.Parse(xml, jats.Options{Files: pkg.Names})
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", u.ID, pkg.NXML, err)
	}
	if art.PMCID == "" {
		art.PMCID = row.PMCID
	}
	lic := row.License
	if lic == "" || strings.EqualFold(lic, "NO-CC CODE") {
		lic = art.License
		if !s.filter.Allows(lic) {
			slog.Info("pmc: article licence not allowed", "pmcid", u.ID, "license", lic)
			return nil, nil
		}
	}
	return buildSamples(art, pkg, row, lic, s.opt)
}

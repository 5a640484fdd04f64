package pmc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/ingest/storage"
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
	Summary: "PubMed Central Open Access articles from the PMC Cloud Service bucket (or a mirror of it; the retired FTP packages with layout: packages): inventory or listing → latest version, open-access, licence and retraction checks → JATS XML and its figures, md5-verified → figure–caption (pmc-oa), interleaved article (pmc-inline) and case-report (pmc-casereport) samples",
	Fields: []ingest.Field{
		{Name: "layout", Type: ingest.TypeString, Default: LayoutCloud,
			Description: "cloud: PMC's Cloud Service layout (PMC<id>.<v>/ folders, metadata/*.json, S3 Inventory) under root; packages: the retired FTP distribution (oa_file_list.csv and oa_package/…tar.gz, removed upstream in 2026), for local mirrors of it",
			Example:     "packages"},
		{Name: "root", Type: ingest.TypeString, Default: DefaultRoot,
			Description: "layout cloud: where the bucket's keys live: s3://bucket?… (gocloud URL: region=, anonymous=true, endpoint=, use_path_style=true), https://BUCKET.s3.amazonaws.com/, file:// or a local folder (relative to the pipelines file) holding a mirror of the same keys",
			Example:     "testdata/pmc-cloud"},
		{Name: "plan_from", Type: ingest.TypeString, Default: PlanInventory,
			Description: "layout cloud, without pmcids: inventory (stream the newest daily S3 Inventory of metadata keys) or listing (list metadata/ page by page; for mirrors without an inventory)",
			Example:     "listing"},
		{Name: "inventory", Type: ingest.TypeString, Default: "",
			Description: "layout cloud: the inventory to plan from, as its folder date (2026-09-01T01-00Z) or manifest key; empty: the newest",
			Example:     "2026-09-01T01-00Z"},
		{Name: "manuscripts", Type: ingest.TypeBool, Default: false,
			Description: "layout cloud: also read author manuscripts (is_manuscript; licence code TDM is then allowed for them); otherwise only is_pmc_openaccess articles",
			Example:     "true"},
		{Name: "unlicensed", Type: ingest.TypeBool, Default: false,
			Description: "layout cloud: also read articles whose metadata has no license_code (the article's own <license> is recorded and must pass licences)",
			Example:     "true"},
		{Name: "oa_list", Type: ingest.TypeString, Default: "",
			Description: "layout packages: the OA file list (oa_file_list.csv): a local path (relative to the pipelines file), an http(s) URL or an object-store URL (s3://bucket/key, gs://…, azblob://…), downloaded once into cache_dir",
			Example:     "testdata/pmc/oa_file_list.csv"},
		{Name: "base_url", Type: ingest.TypeString, Default: DefaultBaseURL,
			Description: "layout packages: where the list's File paths live: an http(s) URL or an object-store URL (s3://bucket/prefix, gs://…, azblob://…), packages downloaded into cache_dir; a file:// URL or a local folder (read in place, no network)",
			Example:     "testdata/pmc"},
		{Name: "cache_dir", Type: ingest.TypeString, Default: ".cache/pmc",
			Description: "layout packages: download cache (relative to the pipelines file); a package with a verified <file>.ok sidecar is never downloaded again",
			Example:     "/scratch/pmc-cache"},
		{Name: "licences", Type: ingest.TypeStrings, Default: append([]string(nil), DefaultLicences...),
			Description: "licence families allowed (versions ignored), matched against the metadata's license_code (cloud) or the list's License (packages); others are dropped before their XML is read. Default CC BY and CC0 in both layouts; add CC BY-SA or public domain by listing them. Empty: all",
			Example:     "[CC BY, CC0, CC BY-SA]"},
		{Name: "noncommercial", Type: ingest.TypeBool, Default: false,
			Description: "also allow CC BY-NC, CC BY-NC-SA and CC BY-NC-ND articles",
			Example:     "true"},
		{Name: "pmcids", Type: ingest.TypeStrings, Default: []string{},
			Description: "only these articles (PMC ids); layout cloud finds their versions by listing metadata/PMC<id>. instead of reading an inventory",
			Example:     "[PMC3460867]"},
		{Name: "since", Type: ingest.TypeString, Default: "",
			Description: "only articles updated on or after this date (YYYY-MM-DD): the latest version's metadata last-modified (cloud) or the list's Last Updated (packages)",
			Example:     "2020-01-01"},
		{Name: "journals", Type: ingest.TypeStrings, Default: []string{},
			Description: "only these journals (the abbreviation the citation starts with, case-insensitive)",
			Example:     "[Radiol Case Rep, PLoS One]"},
		{Name: "max_articles", Type: ingest.TypeInt, Default: 0,
			Description: "at most this many articles, the first by PMCID after filtering (0: all)",
			Example:     "1000"},
		{Name: "concurrency", Type: ingest.TypeInt, Default: 4,
			Description: "downloads (object reads) in flight at once", Example: "8"},
		{Name: "rps", Type: ingest.TypeFloat, Default: 3.0,
			Description: "requests started per second at most, for remote roots (NCBI asks for no more than 3 without an API key); a local folder, file:// or an S3-compatible server on loopback is not throttled; 0: unlimited",
			Example:     "10"},
		{Name: "timeout", Type: ingest.TypeDuration, Default: "2m",
			Description: "time limit of one download attempt (layout packages)", Example: "30s"},
		{Name: "retries", Type: ingest.TypeInt, Default: 5,
			Description: "retries after the first attempt on timeouts, truncation, 408, 429 and 5xx (Retry-After honoured); a cut-off object read resumes with a ranged read",
			Example:     "3"},
		{Name: "backoff", Type: ingest.TypeDuration, Default: "1s",
			Description: "first retry delay; doubles per retry with jitter", Example: "500ms"},
		{Name: "max_backoff", Type: ingest.TypeDuration, Default: "1m",
			Description: "longest retry delay (a Retry-After may ask for up to 10m)", Example: "30s"},
		{Name: "max_package_bytes", Type: ingest.TypeInt, Default: int(DefaultLimits.MaxTotalBytes),
			Description: "layout packages: bytes one package may extract; beyond it the article is quarantined", Example: "512MiB"},
		{Name: "max_member_bytes", Type: ingest.TypeInt, Default: int(DefaultLimits.MaxMemberBytes),
			Description: "larger package members (packages) or objects (cloud: XML, figures) are refused and reported", Example: "64MiB"},
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

// Layouts the source reads.
const (
	LayoutCloud    = "cloud"
	LayoutPackages = "packages"
)

// Planning inputs of the cloud layout.
const (
	PlanInventory = "inventory"
	PlanListing   = "listing"
)

// Source plans PMC articles from the PMC Cloud layout (or an OA list of the
// retired package layout) and reads them into samples.
type Source struct {
	oaList  string
	filter  Filter
	fetcher *Fetcher
	opt     SampleOptions
	// cloud is set for layout cloud.
	cloud *Cloud
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
	switch layout := p.String("layout"); layout {
	case LayoutPackages:
		if s.oaList == "" {
			return nil, fmt.Errorf("pmc: layout packages needs oa_list")
		}
	case LayoutCloud, "":
		if s.oaList != "" {
			return nil, fmt.Errorf("pmc: oa_list is read by layout: packages (PMC's retired FTP distribution); layout cloud plans from root")
		}
		root := p.String("root")
		if root == "" {
			root = DefaultRoot
		}
		s.cloud = &Cloud{
			Root:        abs(root),
			PlanFrom:    p.String("plan_from"),
			Inventory:   p.String("inventory"),
			Manuscripts: p.Bool("manuscripts"),
			Unlicensed:  p.Bool("unlicensed"),
			MaxObject:   int64(p.Int("max_member_bytes")),
			Storage: storage.Options{
				Concurrency: p.Int("concurrency"),
				Retries:     p.Int("retries"),
				Backoff:     p.Duration("backoff"),
				MaxBackoff:  p.Duration("max_backoff"),
			},
			RPS: p.Float("rps"),
		}
		switch s.cloud.PlanFrom {
		case "", PlanInventory, PlanListing:
		default:
			return nil, fmt.Errorf("pmc: plan_from %q: want inventory or listing", s.cloud.PlanFrom)
		}
	default:
		return nil, fmt.Errorf("pmc: layout %q: want cloud or packages", layout)
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

// PlanExcluded counts what planning left out (older versions, articles not
// updated since); nil for layout packages.
func (s *Source) PlanExcluded() map[string]int {
	if s.cloud == nil {
		return nil
	}
	return s.cloud.PlanExcluded()
}

// PlanSharded plans layout cloud by PMC id range (see Cloud.PlanSharded);
// layout packages plans with Plan.
func (s *Source) PlanSharded(ctx context.Context, maxUnits int) (ingest.ShardedPlan, error) {
	if s.cloud == nil {
		return nil, fmt.Errorf("pmc: layout packages: %w", errors.ErrUnsupported)
	}
	return s.cloud.PlanSharded(ctx, s.filter, maxUnits)
}

// NewSource builds a package-layout source outside a pipelines file
// (tests, tools).
func NewSource(oaList string, filter Filter, fetcher *Fetcher, opt SampleOptions) *Source {
	return &Source{oaList: oaList, filter: filter, fetcher: fetcher, opt: opt}
}

// Plan lists the articles, one unit per article ordered by PMCID: for
// layout cloud see Cloud.Plan; for layout packages it reads and filters the
// OA list, and nothing but the list is downloaded.
func (s *Source) Plan(ctx context.Context) ([]ingest.Unit, error) {
	if s.cloud != nil {
		return s.cloud.Plan(ctx, s.filter)
	}
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

// Read builds one article's samples: for layout cloud see Cloud.Read; for
// layout packages it downloads (or finds cached) the unit's package,
// unpacks it safely and parses the article.
func (s *Source) Read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	if s.cloud != nil {
		return s.cloud.Read(ctx, u, s.filter, s.opt)
	}
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

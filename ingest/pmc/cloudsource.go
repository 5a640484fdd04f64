package pmc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// Cloud reads the PMC Cloud Service layout under Root: the bucket itself
// (DefaultRoot), its HTTPS address, or a mirror of its keys in another
// bucket or a local folder. Objects are located by key under Root; the
// s3://pmc-oa-opendata/ of the metadata's URLs is replaced by it.
//
// Planning lists article versions from the newest S3 Inventory (streamed),
// a paginated listing of metadata/, or, with pmcids, one listing per
// article; it keeps the latest version of each article. A unit is one
// version folder ("PMC3460867.2") stamped with its metadata's ETag, so a
// rerun against a newer inventory rebuilds only the shards whose articles
// changed. Everything the inventory does not say (open access, licence,
// retraction) is read from the metadata JSON when the unit is read, and an
// article that fails it is dropped with its reason before its XML is read.
//
// A Cloud is safe for concurrent use once configured.
type Cloud struct {
	Root, PlanFrom, Inventory string
	Manuscripts, Unlicensed   bool
	// MaxObject refuses larger XML or figure objects (0: 256 MiB).
	MaxObject int64
	Storage   storage.Options
	// RPS caps object reads started per second (0: unlimited) from a
	// remote Root; a local mirror is read unthrottled (see throttled).
	RPS float64
	// Store overrides Root (tests inject faults through it).
	Store storage.Store

	once    sync.Once
	openErr error
	lim     *limiter

	mu       sync.Mutex
	excluded map[string]int
}

func (c *Cloud) store(ctx context.Context) (storage.Store, error) {
	c.once.Do(func() {
		if c.RPS > 0 && throttled(c.Root) {
			c.lim = &limiter{interval: time.Duration(float64(time.Second) / c.RPS)}
		}
		if c.Store != nil {
			return
		}
		b, err := storage.Open(ctx, c.Root, c.Storage)
		if err != nil {
			c.openErr = err
			return
		}
		c.Store = b
	})
	return c.Store, c.openErr
}

// PlanExcluded counts what the last Plan left out, by reason.
func (c *Cloud) PlanExcluded() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.excluded)
}

// Plan lists the latest version of each article, one Unit each, in
// ascending PMC id order. A run plans through PlanSharded instead, which
// keeps 16 bytes per article.
func (c *Cloud) Plan(ctx context.Context, f Filter) ([]ingest.Unit, error) {
	recs, err := c.planRecs(ctx, f)
	if err != nil {
		return nil, err
	}
	ap := &articlePlan{recs: recs}
	return ap.Units(0, len(recs)), nil
}

// PlanSharded plans as Plan does and packs the articles into shards by
// PMC id range: shard k holds the articles whose ids lie in
// [k·maxUnits, (k+1)·maxUnits), so it holds at most maxUnits articles, its
// name (shard-0000k) depends on nothing else, and an article published,
// updated or withdrawn upstream changes its own shard only (the runner
// rebuilds the shards whose articles or ETag stamps changed). The price
// is that shards are as full as PMC's ids are dense. Memory is 16 bytes
// per article version, never the inventory's size in bytes: its CSV is
// streamed.
func (c *Cloud) PlanSharded(ctx context.Context, f Filter, maxUnits int) (ingest.ShardedPlan, error) {
	recs, err := c.planRecs(ctx, f)
	if err != nil {
		return nil, err
	}
	if maxUnits <= 0 {
		maxUnits = 1 << 31
	}
	ap := &articlePlan{recs: recs}
	for i, r := range recs {
		k := int(uint64(r.id()) / uint64(maxUnits))
		if n := len(ap.shards); n == 0 || ap.shards[n-1].Index != k {
			if n > 0 {
				ap.shards[n-1].End = i
			}
			ap.shards = append(ap.shards, ingest.PlannedShard{Index: k, First: i})
		}
	}
	if n := len(ap.shards); n > 0 {
		ap.shards[n-1].End = len(recs)
	}
	return ap, nil
}

// articlePlan is the cloud layout's compact plan: the latest version of
// each article by ascending id, and its shards. It makes units on demand.
type articlePlan struct {
	recs   []versionRec
	shards []ingest.PlannedShard
}

func (ap *articlePlan) Len() int                      { return len(ap.recs) }
func (ap *articlePlan) Shards() []ingest.PlannedShard { return ap.shards }

// Units makes the units of articles [first, end): ID "PMC<id>.<v>" (the
// version folder) and the metadata's ETag stamp.
func (ap *articlePlan) Units(first, end int) []ingest.Unit {
	recs := ap.recs[first:end]
	// Every unit id is a substring of one string: one allocation instead
	// of one per article.
	var b strings.Builder
	b.Grow(len(recs) * 14)
	for _, r := range recs {
		b.WriteString(versionFolder(r.id(), r.ver()))
	}
	all := b.String()
	units := make([]ingest.Unit, len(recs))
	off := 0
	for i, r := range recs {
		n := len("PMC.") + digits(uint64(r.id())) + digits(uint64(r.ver()))
		units[i] = ingest.Unit{ID: all[off : off+n], Stamp: r.stamp}
		off += n
	}
	return units
}

// planRecs lists the latest version of each article, ascending by id.
func (c *Cloud) planRecs(ctx context.Context, f Filter) ([]versionRec, error) {
	st, err := c.store(ctx)
	if err != nil {
		return nil, fmt.Errorf("pmc: %w", err)
	}
	ps := &planState{since: f.Since, excluded: map[string]int{}}
	listed := func(o storage.Object) error {
		stamp := o.MD5
		if stamp == "" {
			// A folder mirror knows no ETag: size and time stand in.
			stamp = fmt.Sprintf("%d@%d", o.Size, o.ModTime.UnixNano())
		}
		return ps.add(o.Key, o.ModTime.UTC().Format(time.RFC3339), stamp)
	}
	switch {
	case len(f.PMCIDs) > 0:
		// Planning sorts the versions found; the listing order is free.
		ids := slices.Sorted(maps.Keys(f.idSet()))
		for _, id := range ids {
			if err := st.List(ctx, metadataPrefix+id+".", listed); err != nil {
				return nil, fmt.Errorf("pmc: %w", err)
			}
		}
	case c.PlanFrom == PlanListing:
		if err := st.List(ctx, metadataPrefix, listed); err != nil {
			return nil, fmt.Errorf("pmc: %w", err)
		}
	default:
		key, err := c.manifestKey(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("pmc: %w", err)
		}
		slog.Info("pmc: planning from inventory", "manifest", key)
		if err := readInventory(ctx, st, key, func(r inventoryRow) error {
			return ps.add(r.Key, r.LastModified, r.ETag)
		}); err != nil {
			return nil, fmt.Errorf("pmc: %w", err)
		}
	}
	recs := ps.latest()
	if f.MaxArticles > 0 && len(recs) > f.MaxArticles {
		recs = slices.Clip(recs[:f.MaxArticles])
	}
	c.mu.Lock()
	c.excluded = ps.excluded
	c.mu.Unlock()
	slog.Debug("pmc plan", "articles", len(recs), "excluded", ps.excluded, "other keys", ps.skipped)
	return recs, nil
}

func digits(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// manifestKey resolves Inventory (a folder date or a key) or finds the
// newest manifest.
func (c *Cloud) manifestKey(ctx context.Context, st storage.Store) (string, error) {
	switch {
	case c.Inventory == "":
		return latestInventory(ctx, st)
	case strings.HasSuffix(c.Inventory, ".json"):
		return c.Inventory, nil
	default:
		return InventoryPrefix + strings.Trim(c.Inventory, "/") + "/manifest.json", nil
	}
}

func (c *Cloud) read(ctx context.Context, st storage.Store, key string) ([]byte, error) {
	if err := c.lim.wait(ctx); err != nil {
		return nil, err
	}
	max := c.MaxObject
	if max <= 0 {
		max = DefaultLimits.MaxMemberBytes
	}
	return st.ReadAll(ctx, key, max)
}

// exclusion returns why an article version is not read ("" to read it).
func (c *Cloud) exclusion(m *CloudMeta, f Filter) string {
	switch {
	case m.IsRetracted:
		return ReasonRetracted
	case m.IsManuscript && !c.Manuscripts:
		return ReasonManuscript
	case !m.IsOpenAccess && !(m.IsManuscript && c.Manuscripts):
		return ReasonNotOA
	}
	if m.LicenseCode == nil || strings.TrimSpace(*m.LicenseCode) == "" {
		if !c.Unlicensed {
			return ReasonNoLicence
		}
	} else if code := *m.LicenseCode; !f.Allows(code) && !(m.IsManuscript && c.Manuscripts && strings.EqualFold(code, "TDM")) {
		return ReasonLicence
	}
	if len(f.Journals) > 0 && !f.matchJournal(&OARow{Journal: citationJournal(m.Citation)}) {
		return ReasonJournal
	}
	return ""
}

func citationJournal(c string) string {
	if m := citationJournalRe.FindStringSubmatch(c); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

// Read reads one article version: its metadata (exclusions are returned
// as *normalize.DropError), its JATS XML and the figure files its
// <graphic> elements name, each checked against the metadata's md5. An XML
// that fails is bad input (the article is quarantined); a figure that
// fails is left out and reported in an *ingest.Partial with the samples.
func (c *Cloud) Read(ctx context.Context, u ingest.Unit, f Filter, opt SampleOptions) ([]shards.Sample, error) {
	st, err := c.store(ctx)
	if err != nil {
		return nil, fmt.Errorf("pmc: %w", err)
	}
	pmcid, ver, ok := splitVersionFolder(u.ID)
	if !ok {
		return nil, fmt.Errorf("pmc: unit %q is not a PMC<id>.<version> folder", u.ID)
	}
	metaKey := metadataPrefix + u.ID + ".json"
	data, err := c.read(ctx, st, metaKey)
	if errors.Is(err, storage.ErrNotExist) {
		metaKey = u.ID + "/" + u.ID + ".json"
		data, err = c.read(ctx, st, metaKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: metadata: %w", u.ID, err)
	}
	var m CloudMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", u.ID, metaKey, err)
	}
	if !strings.EqualFold(m.PMCID, pmcid) || m.Version != ver {
		return nil, fmt.Errorf("%s: %s describes %s version %d", u.ID, metaKey, m.PMCID, m.Version)
	}
	if why := c.exclusion(&m, f); why != "" {
		return nil, &normalize.DropError{Reason: why, Detail: u.ID}
	}

	xmlRef := ObjectRef{Key: u.ID + "/" + u.ID + ".xml"}
	if m.XMLURL != "" {
		if xmlRef, err = ParseObjectURL(m.XMLURL); err != nil {
			return nil, fmt.Errorf("%s: xml_url: %w", u.ID, err)
		}
	}
	xml, err := c.read(ctx, st, xmlRef.Key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.ID, err)
	}
	if err := checkMD5(xml, xmlRef.MD5); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", u.ID, xmlRef.Key, err)
	}

	// Media are matched by file name: PMC names them after the graphic's
	// href with the extension added (NPR2-43-85-g001 → NPR2-43-85-g001.jpg).
	media := map[string]ObjectRef{}
	var names []string
	var parts []ingest.Part
	for _, mu := range m.MediaURLs {
		ref, err := ParseObjectURL(mu)
		if err != nil {
			slog.Warn("pmc: bad media URL", "article", u.ID, "err", err)
			continue
		}
		n := mediaName(ref.Key)
		if _, dup := media[n]; !dup {
			media[n] = ref
			names = append(names, n)
		}
	}
	slices.Sort(names)
	art, err := jats.Parse(xml, jats.Options{Files: names})
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", u.ID, xmlRef.Key, err)
	}
	if art.PMCID == "" {
		art.PMCID = pmcid
	}
	pkg := &Package{Name: u.ID, Files: map[string][]byte{}, Names: names, NXML: xmlRef.Key}
	for _, fig := range art.Figures {
		ref, ok := media[fig.Graphic]
		if !ok || pkg.Files[fig.Graphic] != nil {
			continue // not distributed (author manuscripts), or already read
		}
		img, err := c.read(ctx, st, ref.Key)
		if err != nil {
			parts = append(parts, ingest.Part{Reason: ReasonFigureMissing, Err: fmt.Errorf("%s: figure %s: %w", u.ID, fig.ID, err)})
			continue
		}
		if err := checkMD5(img, ref.MD5); err != nil {
			parts = append(parts, ingest.Part{Reason: ReasonFigureMD5, Err: fmt.Errorf("%s: figure %s: %s: %w", u.ID, fig.ID, ref.Key, err)})
			continue
		}
		pkg.Files[fig.Graphic] = img
	}

	lic := ""
	if m.LicenseCode != nil {
		lic = strings.TrimSpace(*m.LicenseCode)
	}
	if lic == "" {
		// Only with unlicensed: the article's own <license> decides.
		lic = art.License
		if !f.Allows(lic) {
			return nil, &normalize.DropError{Reason: ReasonLicence, Detail: u.ID + ": " + lic}
		}
	}
	row := OARow{File: u.ID, Citation: m.Citation, PMCID: pmcid, PMID: m.pmidString(), License: lic, Journal: citationJournal(m.Citation)}
	samples, err := buildSamples(art, pkg, row, lic, opt)
	for i := range samples {
		samples[i].Meta["pmc_version"] = strconv.Itoa(ver)
	}
	if err != nil {
		if len(parts) > 0 {
			return nil, fmt.Errorf("%w; %s", err, (&ingest.Partial{Parts: parts}).Error())
		}
		return nil, err
	}
	if len(parts) > 0 {
		return samples, &ingest.Partial{Parts: parts}
	}
	return samples, nil
}

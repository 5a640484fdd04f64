package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/medmd/medmd/internal/montage"
	"github.com/medmd/medmd/shards"
)

// Window presets (level, width in HU) for CT, as radiology viewers name
// them.
var windowPresets = map[string][2]float64{
	"lung":        {-600, 1500},
	"mediastinum": {50, 350},
	"soft":        {40, 400},
	"bone":        {400, 1800},
	"brain":       {40, 80},
	"liver":       {60, 160},
}

// WindowNames lists the presets in the order the sample page offers them
// ("auto" first: the volume's own 0.5–99.5 percentiles).
var WindowNames = []string{"auto", "soft", "lung", "mediastinum", "bone", "brain", "liver"}

// axes maps the axis parameter to the montage plane whose slices it
// steps through: z → axial, y → coronal, x → sagittal.
var axes = map[string]string{"z": montage.Axial, "y": montage.Coronal, "x": montage.Sagittal}

const (
	maxImageSize = 1024 // longest side of a rendered slice, pixels
	minImageSize = 16
)

type windowKey struct {
	corpus, id string
	k          int
	hash       string
}

// image serves /samples/{id}/images/{k}.png: one slice of image k.
func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	name, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	k, err := strconv.Atoi(name)
	if !ok || err != nil || k < 0 || strconv.Itoa(k) != name {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	c, i, found := s.find(id, q.Get("corpus"))
	if !found {
		http.NotFound(w, r)
		return
	}
	if k >= int(c.Index.ImgOff[i+1]-c.Index.ImgOff[i]) {
		http.NotFound(w, r)
		return
	}
	axis := q.Get("axis")
	if axis == "" {
		axis = "z"
	}
	plane, ok := axes[axis]
	if !ok {
		http.Error(w, "axis: want x, y or z", http.StatusBadRequest)
		return
	}
	win := q.Get("window")
	if win == "" {
		win = "auto"
	}
	preset, isPreset := windowPresets[win]
	if !isPreset && win != "auto" {
		http.Error(w, "window: want one of "+strings.Join(WindowNames, ", "), http.StatusBadRequest)
		return
	}
	size, err := intParam(r, "size", 0, maxImageSize)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if size != 0 {
		size = max(size, minImageSize)
	}
	j := int(c.Index.ImgOff[i]) + k
	shape := c.Index.ImgShape[4*j : 4*j+4]
	n := map[string]int32{"z": shape[1], "y": shape[2], "x": shape[3]}[axis]
	slice, err := intParam(r, "slice", int(n/2), 1<<31-1)
	if err != nil || slice >= int(n) {
		http.Error(w, fmt.Sprintf("slice: want 0…%d along %s", n-1, axis), http.StatusBadRequest)
		return
	}
	// The ETag names the corpus version and every parameter that shapes
	// the picture, so a reloaded corpus never serves a stale slice.
	key := fmt.Sprintf("%s|%s|%s|%d|%s|%d|%s|%d", c.Name, c.Index.ManifestHash, id, k, axis, slice, win, size)
	sum := sha256.Sum256([]byte(key))
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body, ok := s.images.get(etag)
	if !ok {
		smp, err := c.Sample(i)
		if err != nil {
			s.log.Warn("serve: sample not read", "corpus", c.Name, "id", id, "err", err)
			http.Error(w, "sample could not be read", http.StatusInternalServerError)
			return
		}
		im := &smp.Images[k]
		o := montage.Options{Plane: plane, Indices: []int{slice}, Tiles: 1, NoLabels: true, TileSize: size}
		switch {
		case isPreset:
			o.Level, o.Width = preset[0], preset[1]
		case im.DType != shards.Uint8:
			lo, hi, err := s.autoWindow(c, id, k, im)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnprocessableEntity)
				return
			}
			o.Level, o.Width = (lo+hi)/2, hi-lo
		}
		pic, err := montage.Render(im, o)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, pic); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body = buf.Bytes()
		s.images.put(etag, body)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// autoWindow returns the volume's percentile window, computed once per
// image: every slice of a volume is shown with the same window, so
// stepping through slices does not flicker.
func (s *Server) autoWindow(c *Corpus, id string, k int, im *shards.Image) (float64, float64, error) {
	key := windowKey{c.Name, id, k, c.Index.ManifestHash}
	if v, ok := s.windows.Load(key); ok {
		w := v.([2]float64)
		return w[0], w[1], nil
	}
	lo, hi, err := montage.AutoWindow(im, 0, 0)
	if err != nil {
		return 0, 0, err
	}
	s.windows.Store(key, [2]float64{lo, hi})
	return lo, hi, nil
}

// pngCache keeps rendered PNGs up to a byte budget, evicting the oldest
// first (slices are cheap to redo; the cache serves a curator stepping
// back and forth and the thumbnails of a list page).
type pngCache struct {
	mu     sync.Mutex
	budget int
	used   int
	m      map[string][]byte
	order  []string
}

func newPNGCache(budget int) *pngCache { return &pngCache{budget: budget, m: map[string][]byte{}} }

func (p *pngCache) get(k string) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.m[k]
	return b, ok
}

func (p *pngCache) put(k string, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[k]; ok || len(b) > p.budget {
		return
	}
	for p.used+len(b) > p.budget && len(p.order) > 0 {
		old := p.order[0]
		p.order = p.order[1:]
		p.used -= len(p.m[old])
		delete(p.m, old)
	}
	p.m[k] = b
	p.order = append(p.order, k)
	p.used += len(b)
}

func (p *pngCache) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m, p.order, p.used = map[string][]byte{}, nil, 0
}

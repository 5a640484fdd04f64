package ingest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// progress draws "name: 120/400 units  35.2 units/s  48.1 MB/s  ETA 8s" on
// a terminal, redrawn in place a few times a second. Off a terminal it
// stays silent: the caller prints one summary line per pipeline instead.
type progress struct {
	w          io.Writer
	name       string
	noun       string // what is counted: units, shards
	totalUnits int
	totalBytes int64
	start      time.Time
	mu         sync.Mutex
	doneUnits  int
	doneBytes  int64
	stopOnce   sync.Once
	quit       chan struct{}
	wg         sync.WaitGroup
}

func newProgress(w io.Writer, interactive bool, name string, todo []PlannedShard) *progress {
	var units int
	var bytes int64
	for _, s := range todo {
		units += s.End - s.First
		bytes += s.InputBytes
	}
	return startProgress(w, interactive, name, "units", units, bytes)
}

// startProgress counts total things called noun, of totalBytes bytes.
func startProgress(w io.Writer, interactive bool, name, noun string, total int, totalBytes int64) *progress {
	p := &progress{name: name, noun: noun, totalUnits: total, totalBytes: totalBytes, start: time.Now(), quit: make(chan struct{})}
	if w == nil || !interactive || p.totalUnits == 0 {
		return p
	}
	p.w = w
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(false)
			case <-p.quit:
				p.draw(true)
				return
			}
		}
	}()
	return p
}

func (p *progress) add(bytes int64) {
	p.mu.Lock()
	p.doneUnits++
	p.doneBytes += bytes
	p.mu.Unlock()
}

func (p *progress) draw(final bool) {
	if final {
		// The summary the caller prints next takes the line's place.
		fmt.Fprint(p.w, "\r\033[K")
		return
	}
	p.mu.Lock()
	units, bytes := p.doneUnits, p.doneBytes
	p.mu.Unlock()
	el := time.Since(p.start).Seconds()
	rate := float64(units) / max(el, 1e-9)
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.totalUnits-units)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r\033[K%s: %d/%d %s  %.1f %s/s  %.1f MB/s  ETA %s",
		p.name, units, p.totalUnits, p.noun, rate, p.noun, float64(bytes)/1e6/max(el, 1e-9), eta)
}

// stop ends the redraw loop; safe to call more than once.
func (p *progress) stop() {
	p.stopOnce.Do(func() {
		close(p.quit)
		p.wg.Wait()
	})
}

// SummaryWidth is the column width summary lines are wrapped to.
const SummaryWidth = 100

// WrapLine breaks s at spaces into lines of at most width columns
// (counted in runes; a word longer than width stays whole), continuing
// with indent.
func WrapLine(s, indent string, width int) string {
	var b strings.Builder
	col := 0
	for i, w := range strings.Split(s, " ") {
		n := utf8.RuneCountInString(w)
		if i > 0 {
			if col+1+n > width {
				b.WriteString("\n" + indent)
				col = utf8.RuneCountInString(indent)
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += n
	}
	return b.String()
}

package train

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/medmd/medmd/shards"
)

// progress rewrites one terminal line per step: steps/s, samples/s and
// tokens/s since the run (or resume) started, the step's data wait and
// the ETA. A nil writer makes it silent (logs, CI).
type progress struct {
	w     io.Writer
	cfg   Config
	start int
	t0    time.Time
	tok   int64
}

func newProgress(w io.Writer, cfg Config, start int) *progress {
	return &progress{w: w, cfg: cfg, start: start, t0: time.Now()}
}

func (p *progress) update(step, ntok int, dataWait float64) {
	if p.w == nil {
		return
	}
	p.tok += int64(ntok)
	el := time.Since(p.t0).Seconds()
	done := float64(step - p.start)
	rate := done / el
	eta := time.Duration(float64(p.cfg.Steps-step) / rate * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(p.w, "\r\x1b[Kstep %d/%d  %.2f step/s  %.1f samples/s  %.0f tok/s  data wait %.0f ms  eta %s",
		step, p.cfg.Steps, rate, rate*float64(p.cfg.Batch*p.cfg.Accum), float64(p.tok)/el, dataWait*1000, eta)
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}

// logShapes reports the batch shapes of the corpus at start-up: the
// trainer compiles one graph per distinct image shape (cached), so this
// is how many compilations the run will do.
func logShapes(log *slog.Logger, cfg Config, buckets []shards.BucketShape) {
	graphs := 0
	var desc []string
	for _, b := range buckets {
		switch b.Kind {
		case shards.Kind2D, shards.Kind3D:
			graphs++
			desc = append(desc, fmt.Sprintf("%s %s %dx%dx%dx%d (%d samples)", b.Kind, b.DType, b.Channels, b.Depth, b.Height, b.Width, b.Samples))
		case shards.KindText:
			graphs++
			desc = append(desc, fmt.Sprintf("text (%d samples)", b.Samples))
		}
	}
	log.Info("batch shapes", "graphs", graphs, "batch", cfg.Batch, "shapes", desc)
}

package train

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	gmctx "github.com/gomlx/gomlx/pkg/ml/context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
	"github.com/medmd/medmd/train/tokenizer"
)

// Options configure one training run.
type Options struct {
	Config Config
	Train  Source
	// TrainManifest, when set, serves training batches through the
	// shards.Loader over that manifest (Train is then ignored).
	TrainManifest string
	Val           Source // optional held-out samples for periodic validation loss
	Out           string // output folder: checkpoints, tokenizer.json, metrics.jsonl, loss.png
	// TokenizerPath is a tokenizer.json to use; empty: train a byte-level
	// BPE of Config.TokenizerVocab tokens on the training text.
	TokenizerPath string
	// Init starts a run with no checkpoint of its own from the model
	// weights of another run's checkpoint (a run folder or a ckpt-N
	// folder) and that run's tokenizer, which wins over TokenizerPath:
	// fine-tuning on a new corpus with a fresh optimizer at step 0.
	// Config must build the same variables; lm.from is then not read.
	Init    string
	Terms   *normalize.TermList // nil: RadBench's bundled list
	Backend backends.Backend
	// StopAfter ends the run after this many steps of this invocation, as
	// an interruption would (checkpoint written); 0 = run to Config.Steps.
	StopAfter int
	Logger    *slog.Logger
	// Progress, when set, gets a live progress line rewritten every step
	// from step 1 (steps/s, samples/s, tokens/s, data wait, ETA); the CLI
	// sets it only on a terminal outside CI.
	Progress io.Writer
	// DeviceMemory is the memory of one device in bytes; when set, a run
	// whose memory plan (PlanMemory) exceeds it stops before compiling.
	DeviceMemory int64

	// stopBeforeCompile ends the run once the first batch is ready, before
	// the first step compiles anything (MeasureStartup).
	stopBeforeCompile bool
}

// Result summarises a run.
type Result struct {
	StartStep, Step int
	Losses          []float64 // per step of this invocation
	ValLoss         float64   // last validation loss (NaN if none)
	Params          int64
	Checkpoint      string
	StepSeconds     float64 // median wall time per optimizer step
	// StartupSeconds is the time from the start of Run to the first
	// step's batch ready for the device, before anything is compiled:
	// config, tokenizer, weights, the corpus check and the loader.
	StartupSeconds float64
	Interrupted    bool
}

// Metric is one line of metrics.jsonl.
type Metric struct {
	Step       int      `json:"step"`
	Loss       float64  `json:"loss"`
	ValLoss    *float64 `json:"val_loss,omitempty"`
	LR         float64  `json:"lr"`
	GradNorm   float64  `json:"grad_norm"`
	Tokens     int      `json:"tokens"`
	StepSec    float64  `json:"step_s"`    // wall time of the step, waiting for data included
	ComputeSec float64  `json:"compute_s"` // the optimizer step alone (graph execution)
	// DataWaitSec is how long the step waited for its batch (0 when the
	// loader and the one-step-ahead preparation keep up).
	DataWaitSec float64 `json:"data_wait_s"`
	// HostCopyBytes counts the bytes copied on the host for the step's
	// images: the loader's gather copy of a shuffled batch, the padding of
	// a bucket's short tail, resampled in-memory samples; 0 when the batch
	// went from the page cache to the device as one upload.
	HostCopyBytes int64   `json:"host_copy_bytes"`
	TokPerSec     float64 `json:"tokens_per_s"`
	// Resumed marks the first step of a run that resumed a checkpoint
	// (loss.png marks it).
	Resumed bool `json:"resumed,omitempty"`
}

// LearningRate is linear warmup to cfg.LR over cfg.Warmup steps, then
// cosine decay to cfg.MinLR at cfg.Steps. step is 1-based.
func LearningRate(cfg Config, step int) float64 {
	if cfg.Warmup > 0 && step <= cfg.Warmup {
		return cfg.LR * float64(step) / float64(cfg.Warmup)
	}
	span := cfg.Steps - cfg.Warmup
	if span <= 0 {
		return cfg.LR
	}
	p := math.Min(1, float64(step-cfg.Warmup)/float64(span))
	return cfg.MinLR + 0.5*(cfg.LR-cfg.MinLR)*(1+math.Cos(math.Pi*p))
}

// collectText returns the instruction and response text of up to limit
// samples (for tokenizer training).
func collectText(src Source, limit int) ([]string, error) {
	var out []string
	for i := 0; i < src.Len() && i < limit; i++ {
		s, err := src.Sample(i)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
		out = append(out, s.Instruction, s.Response)
	}
	return out, nil
}

// Run trains (or resumes, when Out holds a checkpoint) and returns when
// Config.Steps are done, StopAfter steps ran, or ctx is cancelled — in
// every case after writing a checkpoint, metrics and the loss PNG.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.TrainManifest == "" && (o.Train == nil || o.Train.Len() == 0) {
		return nil, errors.New("train: no training samples")
	}
	if o.TrainManifest != "" {
		// The corpus is checked against the model before anything slow
		// (a tokenizer trained on its text, the weights, the loader).
		m, err := shards.ReadManifest(o.TrainManifest)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		known, err := checkRecorded(o.TrainManifest, m, o.Config)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if !known {
			log.Info("model input unknown: the manifest records no model_input geometry; checking the image shapes the loader indexes", "manifest", o.TrainManifest)
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	backend := o.Backend
	if backend == nil {
		var err error
		if backend, err = NewBackend(); err != nil {
			return nil, err
		}
	}
	cfg := o.Config
	// Tokenizer: the run's own copy lives in Out.
	tokPath := filepath.Join(o.Out, "tokenizer.json")
	ckptDir, err := LatestCheckpoint(o.Out)
	if err != nil {
		return nil, err
	}
	var initDir string // --init's checkpoint, when this run has none yet
	if ckptDir == "" && o.Init != "" {
		if initDir, err = LatestCheckpoint(o.Init); err != nil {
			return nil, fmt.Errorf("train: init: %w", err)
		}
		if initDir == "" {
			return nil, fmt.Errorf("train: init: %s holds no checkpoint (no 'latest' file or state.json)", o.Init)
		}
	}
	var tok *tokenizer.Tokenizer
	switch {
	case ckptDir != "" || fileExists(tokPath):
		tok, err = tokenizer.Load(tokPath)
	case initDir != "":
		tp := checkpointTokenizer(initDir)
		if tok, err = tokenizer.Load(tp); err == nil {
			err = copyFile(tp, tokPath)
		}
	case o.TokenizerPath != "":
		if tok, err = tokenizer.Load(o.TokenizerPath); err == nil {
			err = copyFile(o.TokenizerPath, tokPath)
		}
	default:
		var texts []string
		if texts, err = trainingText(o, 200_000); err == nil {
			if tok, err = tokenizer.Train(texts, cfg.TokenizerVocab); err == nil {
				err = tok.Save(tokPath)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("train: tokenizer: %w", err)
	}
	vocab := cfg.Vocab
	if vocab == 0 {
		vocab = tok.VocabSize()
	}
	if tok.VocabSize() > vocab {
		return nil, fmt.Errorf("train: tokenizer has %d tokens, model vocab is %d", tok.VocabSize(), vocab)
	}
	// Weights: fresh or from the checkpoint (whose shapes win).
	st := &CheckpointState{Loader: LoaderState{Seed: cfg.Seed}}
	var gctx = newContextOrNil(ckptDir == "" && initDir == "", cfg, vocab)
	if ckptDir == "" && initDir == "" {
		if err := loadPretrainedLM(gctx, cfg); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if initDir != "" {
		var ist *CheckpointState
		if gctx, ist, err = initFromCheckpoint(initDir, cfg); err != nil {
			return nil, fmt.Errorf("train: init: %w", err)
		}
		if tok.VocabSize() > ist.Vocab {
			return nil, fmt.Errorf("train: init: tokenizer has %d tokens, checkpoint %s's vocab is %d", tok.VocabSize(), initDir, ist.Vocab)
		}
		vocab = ist.Vocab
		log.Info("fine-tuning", "init", initDir, "from_step", ist.Step)
	}
	if ckptDir != "" {
		gctx, st, err = loadCheckpoint(ckptDir)
		if err != nil {
			return nil, err
		}
		if err := resumeConflict(ckptDir, st.Config, cfg); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		vocab = st.Vocab
		log.Info("resuming", "checkpoint", ckptDir, "step", st.Step)
	}
	st.Config, st.Vocab = cfg, vocab
	cj, _ := json.MarshalIndent(cfg, "", " ")
	if err := shards.PublishBytes(nil, filepath.Join(o.Out, "config.json"), cj); err != nil {
		return nil, err
	}
	if plan := PlanMemory(cfg, vocab, o.DeviceMemory); !plan.Fits() {
		return nil, fmt.Errorf("train: batch %d does not fit the device: lower it with --batch (or batch: in --config; accum keeps the effective batch) or use a larger device; the memory plan:\n%s", cfg.Batch, plan)
	}
	m := newModel(cfg, vocab)
	sp, err := newStepper(backend, gctx, m)
	if err != nil {
		return nil, err
	}
	enc := &encoder{cfg: cfg, tok: tok, terms: newTermMatcher(o.Terms)}
	var stream batchStream
	if o.TrainManifest != "" {
		l, err := openLoader(o.TrainManifest, cfg, enc, st.ShardLoader)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		stream = &loaderStream{l: l, cfg: cfg, backend: backend}
		logShapes(log, cfg, l.Buckets())
	} else {
		stream = &permStream{b: newBatcher(o.Train, st.Loader), enc: enc}
	}
	// Deferred before the batch producer's drain below, so it runs after
	// the producer stopped reading the stream.
	defer stream.close()
	res := &Result{StartStep: st.Step, Step: st.Step, ValLoss: math.NaN(), Params: ParamCount(cfg, vocab)}
	log.Info("model", "preset", cfg.Name, "params", res.Params, "vocab", vocab, "backend", backend.Name())

	metricsPath := filepath.Join(o.Out, "metrics.jsonl")
	history, err := readMetrics(metricsPath, st.Step)
	if err != nil {
		return nil, err
	}
	// The kept history is republished whole (a resume drops the lines
	// past the checkpoint); new lines are then appended one write each,
	// and readMetrics skips a line a crash tore.
	err = shards.Publish(nil, metricsPath, func(w io.Writer) error {
		mw := bufio.NewWriter(w)
		for _, h := range history {
			b, _ := json.Marshal(h)
			mw.Write(append(b, '\n'))
		}
		return mw.Flush()
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	mf, err := os.OpenFile(metricsPath, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer mf.Close()

	var cur CheckpointState // stream position after the last trained step
	save := func() error {
		st.Step = res.Step
		st.Loader, st.ShardLoader = cur.Loader, cur.ShardLoader
		dir, err := saveCheckpoint(o.Out, gctx, *st, 2)
		if err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		res.Checkpoint = dir
		return writePlot(o.Out, history)
	}
	lastSaved := st.Step
	var times []float64
	t0 := time.Now()
	prog := newProgress(o.Progress, cfg, res.StartStep)
	defer prog.done()
	// Batches are prepared one step ahead on another goroutine (tokenising,
	// resizing images) while the device runs the current step. Each
	// prepared step carries the stream position after its batches; the
	// checkpoint records the position after the last step actually
	// trained, so prefetching never breaks exact resume.
	type prepared struct {
		micro    []*batchTensors
		ntok     int
		hostCopy int64
		after    CheckpointState
		err      error
	}
	stream.save(&cur)
	pctx, pcancel := context.WithCancel(ctx)
	ch := make(chan prepared, 1)
	go func() {
		defer close(ch)
		for s := res.Step; s < cfg.Steps; s++ {
			var p prepared
			p.micro = make([]*batchTensors, cfg.Accum)
			for k := range p.micro {
				mb, err := stream.next(pctx)
				if err != nil {
					p.err = err
					break
				}
				p.micro[k], p.ntok, p.hostCopy = mb.bt, p.ntok+mb.ntok, p.hostCopy+mb.hostCopy
			}
			if p.err == nil {
				stream.save(&p.after)
			}
			select {
			case ch <- p:
			case <-pctx.Done():
				return
			}
			if p.err != nil {
				return
			}
		}
	}()
	defer func() {
		pcancel()
		for range ch { // wait for the producer before the stream closes
		}
	}()
	for res.Step < cfg.Steps {
		if ctx.Err() != nil {
			res.Interrupted = true
			break
		}
		if o.StopAfter > 0 && res.Step-res.StartStep >= o.StopAfter {
			res.Interrupted = true
			break
		}
		step := res.Step + 1
		ts := time.Now()
		p, ok := <-ch
		dataWait := time.Since(ts).Seconds()
		if !ok || p.err != nil {
			if ctx.Err() != nil {
				res.Interrupted = true
				break
			}
			if !ok {
				return res, fmt.Errorf("train: step %d: batch producer stopped", step)
			}
			return res, fmt.Errorf("train: step %d: %w", step, p.err)
		}
		if step == res.StartStep+1 {
			res.StartupSeconds = time.Since(start).Seconds()
			log.Info("start-up", "seconds", fmt.Sprintf("%.3f", res.StartupSeconds))
			if o.stopBeforeCompile {
				return res, nil
			}
		}
		micro, ntok := p.micro, p.ntok
		tc := time.Now()
		lr := LearningRate(cfg, step)
		loss, _, gnorm, err := sp.trainStep(micro, lr, step)
		if err != nil {
			return res, fmt.Errorf("train: step %d: %w", step, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return res, fmt.Errorf("train: step %d: loss is %v", step, loss)
		}
		res.Step = step
		cur.Loader, cur.ShardLoader = p.after.Loader, p.after.ShardLoader
		st.Tokens += int64(ntok)
		dt := time.Since(ts).Seconds()
		computeS := time.Since(tc).Seconds()
		times = append(times, dt)
		res.Losses = append(res.Losses, loss)
		mt := Metric{Step: step, Loss: loss, LR: lr, GradNorm: gnorm, Tokens: ntok, StepSec: dt, ComputeSec: computeS, TokPerSec: float64(ntok) / dt,
			DataWaitSec: dataWait, HostCopyBytes: p.hostCopy, Resumed: res.StartStep > 0 && step == res.StartStep+1}
		if o.Val != nil && o.Val.Len() > 0 && cfg.EvalEvery > 0 && (step%cfg.EvalEvery == 0 || step == cfg.Steps) {
			v, err := validate(sp, enc, o.Val, cfg)
			if err != nil {
				return res, fmt.Errorf("train: validation at step %d: %w", step, err)
			}
			res.ValLoss = v
			mt.ValLoss = &v
		}
		history = append(history, mt)
		b, _ := json.Marshal(mt)
		if _, err := mf.Write(append(b, '\n')); err != nil {
			return res, err
		}
		prog.update(step, ntok, dataWait)
		if cfg.LogEvery > 0 && (step%cfg.LogEvery == 0 || step == cfg.Steps) {
			el := time.Since(t0).Seconds()
			done := step - res.StartStep
			rate := float64(done) / el
			eta := time.Duration(float64(cfg.Steps-step) / rate * float64(time.Second)).Round(time.Second)
			args := []any{"step", fmt.Sprintf("%d/%d", step, cfg.Steps), "loss", fmt.Sprintf("%.4f", loss), "lr", fmt.Sprintf("%.2e", lr),
				"step/s", fmt.Sprintf("%.2f", rate), "tok/s", fmt.Sprintf("%.0f", float64(ntok)/dt), "eta", eta.String()}
			if mt.ValLoss != nil {
				args = append(args, "val_loss", fmt.Sprintf("%.4f", *mt.ValLoss))
			}
			log.Info("train", args...)
		}
		if cfg.CkptEvery > 0 && step%cfg.CkptEvery == 0 {
			if err := save(); err != nil {
				return res, err
			}
			lastSaved = step
		}
	}
	if (res.Step != lastSaved || res.Checkpoint == "") && !cfg.SkipFinalCheckpoint {
		if err := save(); err != nil {
			return res, err
		}
	}
	if cfg.SkipFinalCheckpoint {
		if err := writePlot(o.Out, history); err != nil {
			return res, err
		}
	}
	res.StepSeconds = stats.Median(times)
	if res.Interrupted && ctx.Err() != nil {
		return res, fmt.Errorf("train: interrupted at step %d (checkpoint %s): %w", res.Step, res.Checkpoint, ctx.Err())
	}
	return res, nil
}

// MeasureStartup runs Run's start-up on o — config, tokenizer, weights,
// the corpus check, the loader and the first batch ready for the device —
// and stops before anything is compiled or trained, leaving no
// checkpoint. It returns Result.StartupSeconds, what `medmd perf train`
// reports as time to first step.
func MeasureStartup(ctx context.Context, o Options) (float64, error) {
	o.stopBeforeCompile = true
	res, err := Run(ctx, o)
	if err != nil {
		return 0, err
	}
	return res.StartupSeconds, nil
}

func newContextOrNil(fresh bool, cfg Config, vocab int) *gmctx.Context {
	if !fresh {
		return nil
	}
	return newContext(cfg, vocab)
}

// validate returns the weighted loss over cfg.EvalBatches batches of val,
// always the same samples (a fixed-order batcher restarted each time).
func validate(sp *stepper, enc *encoder, val Source, cfg Config) (float64, error) {
	b := newBatcher(val, LoaderState{Seed: cfg.Seed + 1})
	n := max(1, min(cfg.EvalBatches, (val.Len()+cfg.Batch-1)/cfg.Batch))
	var sum, w float64
	for i := 0; i < n; i++ {
		smps, err := b.next(cfg.Batch)
		if err != nil {
			return 0, err
		}
		seqs := make([]*seq, len(smps))
		for k, s := range smps {
			seqs[k] = enc.encode(s)
		}
		s, ww, err := sp.evalLoss(enc.hostBatch(seqs))
		if err != nil {
			return 0, err
		}
		sum += s
		w += ww
	}
	if w == 0 {
		return math.NaN(), nil
	}
	return sum / w, nil
}

// readMetrics returns metrics.jsonl lines with step <= upTo (a resumed run
// rewrites what came after its checkpoint).
func readMetrics(path string, upTo int) ([]Metric, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Metric
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m Metric
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Step <= upTo {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return shards.PublishBytes(nil, dst, b)
}

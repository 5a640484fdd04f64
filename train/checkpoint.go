package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/shards"
)

// A checkpoint is a folder OUT/ckpt-NNNNNNNN holding state.json (step,
// loader state, config, variable index) and vars.bin (every context
// variable — weights, AdamW moments, accumulators — as little-endian
// float32 in index order). It is written under a temporary name and
// renamed into place, then OUT/latest (the folder's name) is replaced by
// rename too, so a crash or Ctrl-C at any moment leaves the previous
// checkpoint intact and `latest` always names a complete one. A checkpoint
// saved again under an existing name replaces it by a rename-aside swap
// (installCheckpoint) that start-up recovery completes.

// CheckpointState is state.json.
type CheckpointState struct {
	Step   int         `json:"step"`
	Loader LoaderState `json:"loader"`
	// ShardLoader is the shards.Loader's position when it serves batches.
	ShardLoader *shards.LoaderState `json:"shard_loader,omitempty"`
	Config      Config              `json:"config"`
	Vocab       int                 `json:"vocab"`
	Tokens      int64               `json:"tokens_seen"`
	Variables   []varEntry          `json:"variables"`
}

type varEntry struct {
	Scope string `json:"scope"`
	Name  string `json:"name"`
	Dims  []int  `json:"dims"`
}

const latestFile = "latest"

// saveCheckpoint writes ctx's variables and st into out; keeps the newest
// `keep` checkpoints.
func saveCheckpoint(out string, ctx *context.Context, st CheckpointState, keep int) (string, error) {
	var vars []*context.Variable
	for v := range ctx.IterVariables() {
		if v.DType() != dtypes.Float32 {
			return "", fmt.Errorf("checkpoint: variable %s has dtype %s, want float32", v.ScopeAndName(), v.DType())
		}
		vars = append(vars, v)
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].ScopeAndName() < vars[j].ScopeAndName() })
	st.Variables = st.Variables[:0]
	for _, v := range vars {
		st.Variables = append(st.Variables, varEntry{Scope: v.Scope(), Name: v.Name(), Dims: v.Shape().Dimensions})
	}
	name := fmt.Sprintf("ckpt-%08d", st.Step)
	tmp, err := os.MkdirTemp(out, ".tmp-"+name+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	// MkdirTemp makes it 0700; a checkpoint is shared like its files.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	// Both files are published inside the temp folder, so each is synced
	// and the folder's entries are durable before the folder is renamed.
	err = shards.Publish(nil, filepath.Join(tmp, "vars.bin"), func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<20)
		buf := make([]byte, 0, 1<<16)
		for _, v := range vars {
			t, err := v.Value()
			if err != nil {
				return fmt.Errorf("checkpoint: %s: %w", v.ScopeAndName(), err)
			}
			err = tensors.ConstFlatData[float32](t, func(flat []float32) {
				for i := 0; i < len(flat); {
					buf = buf[:0]
					for ; i < len(flat) && len(buf) < cap(buf); i++ {
						buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(flat[i]))
					}
					w.Write(buf)
				}
			})
			if err != nil {
				return err
			}
		}
		return w.Flush()
	})
	if err != nil {
		return "", err
	}
	js, _ := json.MarshalIndent(st, "", " ")
	if err := shards.PublishBytes(nil, filepath.Join(tmp, "state.json"), js); err != nil {
		return "", err
	}
	final, err := installCheckpoint(out, tmp, name)
	if err != nil {
		return "", err
	}
	if err := shards.PublishBytes(nil, filepath.Join(out, latestFile), []byte(name+"\n")); err != nil {
		return "", err
	}
	// prune old checkpoints
	ents, _ := os.ReadDir(out)
	var ck []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "ckpt-") {
			ck = append(ck, e.Name())
		}
	}
	sort.Strings(ck)
	for len(ck) > keep {
		os.RemoveAll(filepath.Join(out, ck[0]))
		ck = ck[1:]
	}
	return final, nil
}

// asidePrefix names a replaced checkpoint while its successor is renamed in.
// It does not start with "ckpt-", so pruning and globbing never see it.
const asidePrefix = ".old-"

// installCheckpoint renames the finished folder tmp to out/name. When a
// checkpoint of that name already exists (the same step saved again, e.g.
// after a resume or on Ctrl-C) it is first renamed aside, then the new one
// renamed in, and only then the old one deleted: at every moment a complete
// out/name or out/.old-name exists, and recoverCheckpoints puts the aside
// one back if a crash came between the two renames. Deleting first (as
// before) left a window with no checkpoint at all.
func installCheckpoint(out, tmp, name string) (string, error) {
	final := filepath.Join(out, name)
	aside := filepath.Join(out, asidePrefix+name)
	replaced := false
	if _, err := os.Lstat(final); err == nil {
		// A leftover aside next to a complete final is stale.
		if err := os.RemoveAll(aside); err != nil {
			return "", fmt.Errorf("checkpoint %s: %w", aside, err)
		}
		if err := os.Rename(final, aside); err != nil {
			return "", fmt.Errorf("checkpoint %s: moving the old one aside: %w", final, err)
		}
		replaced = true
	} else if !os.IsNotExist(err) {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if replaced {
			if rerr := os.Rename(aside, final); rerr != nil {
				err = fmt.Errorf("%w (and restoring the old one: %v)", err, rerr)
			}
		}
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := shards.OSFS.SyncDir(out); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if replaced {
		os.RemoveAll(aside)
	}
	return final, nil
}

// recoverCheckpoints finishes swaps a crash interrupted in out: an aside
// folder whose checkpoint is missing is renamed back (it is the complete
// old one that `latest` may name); one whose checkpoint exists is deleted.
func recoverCheckpoints(out string) error {
	ents, err := os.ReadDir(out)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), asidePrefix)
		if !ok || !e.IsDir() || !strings.HasPrefix(name, "ckpt-") {
			continue
		}
		aside, final := filepath.Join(out, e.Name()), filepath.Join(out, name)
		if _, err := os.Lstat(final); err == nil {
			os.RemoveAll(aside)
			continue
		}
		if err := os.Rename(aside, final); err != nil {
			return fmt.Errorf("checkpoint %s: restoring from %s: %w", final, aside, err)
		}
	}
	return nil
}

// LatestCheckpoint returns the folder `latest` names in dir ("" if none).
// dir may also be a checkpoint folder itself. It first recovers a swap
// that a crash interrupted (recoverCheckpoints), so training and
// generation start from a complete checkpoint.
func LatestCheckpoint(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err == nil {
		return dir, nil
	}
	if err := recoverCheckpoints(dir); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, latestFile))
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, strings.TrimSpace(string(b))), nil
}

// loadCheckpoint reads a checkpoint folder into a fresh context.
func loadCheckpoint(dir string) (*context.Context, *CheckpointState, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	var st CheckpointState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s/state.json: %w", dir, err)
	}
	f, err := os.Open(filepath.Join(dir, "vars.bin"))
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	var total int64
	for _, v := range st.Variables {
		n := int64(1)
		for _, d := range v.Dims {
			// Bounding the running product by the file size keeps it
			// from overflowing (dims [2^31, 2^31, 4] would wrap to 0).
			if d < 0 || d > 1<<31 || (d > 0 && n > fi.Size()/4/int64(d)) {
				return nil, nil, fmt.Errorf("checkpoint %s: variable %s/%s has bad dims %v for a %d-byte vars.bin", dir, v.Scope, v.Name, v.Dims, fi.Size())
			}
			n *= int64(d)
		}
		total += 4 * n
		if total > fi.Size() {
			return nil, nil, fmt.Errorf("checkpoint %s: vars.bin has %d bytes, the index needs more", dir, fi.Size())
		}
	}
	if total != fi.Size() {
		return nil, nil, fmt.Errorf("checkpoint %s: vars.bin has %d bytes, index needs %d", dir, fi.Size(), total)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	ctx := context.New().Checked(false).WithInitializer(noInit)
	buf := make([]byte, 1<<16)
	for _, v := range st.Variables {
		t := tensors.FromShape(shapes.Make(dtypes.Float32, v.Dims...))
		var rerr error
		err := tensors.MutableFlatData[float32](t, func(flat []float32) {
			for i := 0; i < len(flat); {
				n := min(len(buf)/4, len(flat)-i)
				if _, rerr = io.ReadFull(r, buf[:4*n]); rerr != nil {
					return
				}
				for k := 0; k < n; k++ {
					flat[i+k] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*k:]))
				}
				i += n
			}
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint %s: %s/%s: %w", dir, v.Scope, v.Name, err)
		}
		ctx.InAbsPath(v.Scope).VariableWithValue(v.Name, t)
	}
	return ctx, &st, nil
}

// trainingKeys are the config keys that build no variable and leave the
// learning-rate schedule alone: a resume may change them.
var trainingKeys = []string{"name", "weight_decay", "clip_norm", "eval_every",
	"ckpt_every", "eval_batches", "log_every", "max_new_tokens", "dtype", "term_weight", "response_weight",
	"skip_final_checkpoint"}

// scheduleKeys shape LearningRate: the cosine decays over steps, so a
// resume that changed any of them would silently give the steps still to
// run another learning rate than the checkpoint's run planned. A resume
// refuses them; fine-tuning (--init) starts a fresh schedule and may.
var scheduleKeys = []string{"steps", "warmup", "lr", "min_lr"}

// resumeConflict says why a run of cfg cannot resume the checkpoint whose
// config is ckpt (dir names it): a changed schedule key, with the value
// that resumes and the way to a new schedule, or a changed shape; nil when
// it can.
func resumeConflict(dir string, ckpt, cfg Config) error {
	if k, cv, rv := configDiff(ckpt, cfg, trainingKeys); k != "" {
		if slices.Contains(scheduleKeys, k) {
			flag := k
			if k == "steps" {
				flag = "steps (--steps)"
			}
			return fmt.Errorf("resume from %s: %s is %v in the checkpoint, %v here, which would change the learning-rate schedule: "+
				"set it back to %v to resume, or train on from these weights with a fresh schedule into a new folder (--init %s -o NEW)",
				dir, flag, cv, rv, cv, filepath.Dir(dir))
		}
		return fmt.Errorf("resume from %s: config key %s is %v in the checkpoint, %v here: the model shapes differ", dir, k, cv, rv)
	}
	return nil
}

// initKeys may also differ when fine-tuning from another run's checkpoint
// (--init): a new corpus may want another batch, seed or batching, and
// the decoder's origin and whether it is frozen are no shape (the
// checkpoint's weights replace lm.from's; lm.freeze starts or ends with
// the new optimizer state).
var initKeys = slices.Concat([]string{"batch", "accum", "seed", "batching", "lm.from", "lm.freeze"}, scheduleKeys, trainingKeys)

// configDiff returns the first key (as in the config file, nested keys
// joined by dots) whose value differs between the checkpoint's config and
// the run's, with both values; "" when they agree on every key not in
// ignore.
func configDiff(ckpt, run Config, ignore []string) (key string, ckptVal, runVal any) {
	flat := func(c Config) map[string]any {
		b, _ := json.Marshal(c)
		var m map[string]any
		json.Unmarshal(b, &m)
		out := map[string]any{}
		var walk func(prefix string, m map[string]any)
		walk = func(prefix string, m map[string]any) {
			for k, v := range m {
				if sub, ok := v.(map[string]any); ok {
					walk(prefix+k+".", sub)
					continue
				}
				out[prefix+k] = v
			}
		}
		walk("", m)
		return out
	}
	a, b := flat(ckpt), flat(run)
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		skip := false
		for _, ig := range ignore {
			// An ignored section ignores its keys (lm.from's "lm.from").
			if k == ig || strings.HasPrefix(k, ig+".") {
				skip = true
			}
		}
		if !skip && fmt.Sprint(a[k]) != fmt.Sprint(b[k]) {
			return k, a[k], b[k]
		}
	}
	return "", nil, nil
}

// checkpointTokenizer is the tokenizer.json of the run a checkpoint
// folder belongs to (beside the ckpt-N folders), else one inside it.
func checkpointTokenizer(dir string) string {
	tp := filepath.Join(filepath.Dir(dir), "tokenizer.json")
	if _, err := os.Stat(tp); err != nil {
		return filepath.Join(dir, "tokenizer.json")
	}
	return tp
}

// initFromCheckpoint returns a context holding only the model weights of
// the checkpoint folder dir, for a run of cfg: the AdamW moments, the
// accumulators and the step stay behind, so fine-tuning starts a fresh
// optimizer and schedule at step 0. cfg must build the same variables as
// the checkpoint's config; the error names the first key that differs.
func initFromCheckpoint(dir string, cfg Config) (*context.Context, *CheckpointState, error) {
	src, st, err := loadCheckpoint(dir)
	if err != nil {
		return nil, nil, err
	}
	if k, cv, rv := configDiff(st.Config, cfg, initKeys); k != "" {
		return nil, nil, fmt.Errorf("checkpoint %s: config key %s is %v there, %v here: the model shapes differ", dir, k, cv, rv)
	}
	ctx := context.New().Checked(false).WithInitializer(noInit)
	for _, p := range ParamSpecs(cfg, st.Vocab) {
		v := src.InAbsPath(p.Scope).GetVariable(p.Name)
		if v == nil {
			return nil, nil, fmt.Errorf("checkpoint %s: no variable %s/%s", dir, p.Scope, p.Name)
		}
		if !slices.Equal(v.Shape().Dimensions, p.Dims) {
			return nil, nil, fmt.Errorf("checkpoint %s: variable %s/%s has dims %v, the config builds %v", dir, p.Scope, p.Name, v.Shape().Dimensions, p.Dims)
		}
		val, err := v.Value()
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint %s: %s/%s: %w", dir, p.Scope, p.Name, err)
		}
		ctx.InAbsPath(p.Scope).VariableWithValue(p.Name, val)
	}
	return ctx, st, nil
}

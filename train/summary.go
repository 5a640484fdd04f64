package train

import "fmt"

// Summary is the last line of `medmd train`. A rerun whose checkpoint
// already reached the configured steps trains nothing: it says so rather
// than report a loss of 0 and 0 s/step.
func (r *Result) Summary() string {
	if len(r.Losses) == 0 {
		// A resume keeps the checkpoint's schedule (resumeConflict), so
		// training further is a fine-tune from it, not a higher --steps.
		return fmt.Sprintf("nothing to train: checkpoint %s is already at step %d (train on with --init it, -o new), %d params",
			r.Checkpoint, r.Step, r.Params)
	}
	return fmt.Sprintf("trained steps %d..%d, loss %.4f, %d params, %.3f s/step, checkpoint %s",
		r.StartStep, r.Step, r.Losses[len(r.Losses)-1], r.Params, r.StepSeconds, r.Checkpoint)
}

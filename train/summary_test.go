package train

import (
	"strings"
	"testing"
)

func TestTrainSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  Result
		want string
	}{
		{"trained", Result{StartStep: 3, Step: 5, Losses: []float64{2, 1.5}, Params: 10, StepSeconds: 0.5, Checkpoint: "o/ckpt-00000005"},
			"trained steps 3..5, loss 1.5000, 10 params, 0.500 s/step, checkpoint o/ckpt-00000005"},
		{"already done", Result{StartStep: 23, Step: 23, Params: 10, Checkpoint: "o/ckpt-00000023"},
			"nothing to train: checkpoint o/ckpt-00000023 is already at step 23"},
	} {
		if got := tc.res.Summary(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want prefix %q", tc.name, got, tc.want)
		}
	}
}

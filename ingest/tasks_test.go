package ingest

import "testing"

func TestTaskFromEnv(t *testing.T) {
	tests := []struct {
		name            string
		task, tasks     int
		env             map[string]string
		wantTask, wantN int
		wantErr         bool
	}{
		{"default", -1, 0, nil, 0, 1, false},
		{"flags", 2, 3, nil, 2, 3, false},
		{"flag out of range", 3, 3, nil, 0, 0, true},
		{"k8s with MEDMD_TASKS", -1, 0, map[string]string{"JOB_COMPLETION_INDEX": "4", "MEDMD_TASKS": "5"}, 4, 5, false},
		{"k8s with flag count", -1, 8, map[string]string{"JOB_COMPLETION_INDEX": "7"}, 7, 8, false},
		{"k8s without count", -1, 0, map[string]string{"JOB_COMPLETION_INDEX": "1"}, 0, 0, true},
		{"slurm", -1, 0, map[string]string{"SLURM_ARRAY_TASK_ID": "11", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "3"}, 1, 3, false},
		{"slurm garbage", -1, 0, map[string]string{"SLURM_ARRAY_TASK_ID": "x"}, 0, 0, true},
		{"flag beats env", 0, 2, map[string]string{"JOB_COMPLETION_INDEX": "1"}, 0, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task, n, err := TaskFromEnv(tt.task, tt.tasks, func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (task != tt.wantTask || n != tt.wantN) {
				t.Fatalf("got %d/%d, want %d/%d", task, n, tt.wantTask, tt.wantN)
			}
		})
	}
}

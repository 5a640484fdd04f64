package ingest

import (
	"fmt"
	"strconv"
)

// TaskFromEnv resolves which task of how many this process is. Explicit
// flags win (task < 0 or tasks <= 0 means "not given"); otherwise a
// Kubernetes Indexed Job's JOB_COMPLETION_INDEX (with the count from the
// flag or MEDMD_TASKS), or a Slurm array's SLURM_ARRAY_TASK_ID,
// SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT; otherwise task 0 of 1.
func TaskFromEnv(task, tasks int, getenv func(string) string) (int, int, error) {
	num := func(name string) (int, bool, error) {
		v := getenv(name)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, false, fmt.Errorf("%s=%q: not an integer", name, v)
		}
		return n, true, nil
	}
	if tasks <= 0 {
		n, ok, err := num("MEDMD_TASKS")
		if err != nil {
			return 0, 0, err
		}
		if ok {
			tasks = n
		}
	}
	if task < 0 {
		if idx, ok, err := num("JOB_COMPLETION_INDEX"); err != nil {
			return 0, 0, err
		} else if ok {
			if tasks <= 0 {
				return 0, 0, fmt.Errorf("JOB_COMPLETION_INDEX=%d is set but the task count is not: pass --tasks N or set MEDMD_TASKS to the Job's completions", idx)
			}
			task = idx
		} else if id, ok, err := num("SLURM_ARRAY_TASK_ID"); err != nil {
			return 0, 0, err
		} else if ok {
			lo, _, err := num("SLURM_ARRAY_TASK_MIN")
			if err != nil {
				return 0, 0, err
			}
			if tasks <= 0 {
				n, ok, err := num("SLURM_ARRAY_TASK_COUNT")
				if err != nil {
					return 0, 0, err
				}
				if !ok {
					return 0, 0, fmt.Errorf("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --tasks N")
				}
				tasks = n
			}
			task = id - lo
		}
	}
	if tasks <= 0 {
		tasks = 1
	}
	if task < 0 {
		task = 0
	}
	if task >= tasks {
		return 0, 0, fmt.Errorf("task %d is out of range for %d tasks (tasks are numbered 0..%d)", task, tasks, tasks-1)
	}
	return task, tasks, nil
}

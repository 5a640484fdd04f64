package train

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckpointSwapCrashSafe: replacing a checkpoint of the same name
// never leaves a moment without one, and start-up recovery completes a
// swap a crash interrupted.
func TestCheckpointSwapCrashSafe(t *testing.T) {
	const name = "ckpt-00000005"
	mk := func(t *testing.T, dir, content string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err != nil {
			return "missing"
		}
		return string(b)
	}
	tests := []struct {
		name string
		// setup builds out before the step; tmp is the new folder's path.
		setup func(t *testing.T, out, tmp string)
		// step is install (the save) or recover (the next start-up).
		install   bool
		wantErr   bool
		wantFinal string
	}{
		{"replace existing", func(t *testing.T, out, tmp string) {
			mk(t, filepath.Join(out, name), "old")
			mk(t, tmp, "new")
		}, true, false, "new"},
		{"replace with stale aside", func(t *testing.T, out, tmp string) {
			mk(t, filepath.Join(out, name), "old")
			mk(t, filepath.Join(out, asidePrefix+name), "older")
			mk(t, tmp, "new")
		}, true, false, "new"},
		{"failed rename keeps the old one", func(t *testing.T, out, tmp string) {
			mk(t, filepath.Join(out, name), "old") // tmp never written: the rename fails
		}, true, true, "old"},
		{"fresh name", func(t *testing.T, out, tmp string) {
			mk(t, tmp, "new")
		}, true, false, "new"},
		{"crash after moving aside", func(t *testing.T, out, tmp string) {
			mk(t, filepath.Join(out, asidePrefix+name), "old")
		}, false, false, "old"},
		{"crash before deleting aside", func(t *testing.T, out, tmp string) {
			mk(t, filepath.Join(out, name), "new")
			mk(t, filepath.Join(out, asidePrefix+name), "old")
		}, false, false, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			tmp := filepath.Join(out, ".tmp-"+name+"-1")
			tt.setup(t, out, tmp)
			var err error
			if tt.install {
				_, err = installCheckpoint(out, tmp, name)
			} else {
				if err := os.WriteFile(filepath.Join(out, latestFile), []byte(name+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				var dir string
				dir, err = LatestCheckpoint(out)
				if err == nil && dir != filepath.Join(out, name) {
					t.Errorf("latest = %q", dir)
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := state(filepath.Join(out, name)); got != tt.wantFinal {
				t.Errorf("%s holds %q, want %q", name, got, tt.wantFinal)
			}
			if _, err := os.Stat(filepath.Join(out, asidePrefix+name)); !os.IsNotExist(err) {
				t.Errorf("aside folder left behind (%v)", err)
			}
		})
	}
}

// TestCheckpointSaveSameStepTwice: saving a step that already has a
// checkpoint replaces it in place and leaves no aside folder.
func TestCheckpointSaveSameStepTwice(t *testing.T) {
	cfg := tinyConfig(t, 1)
	ctx := newContext(cfg, 300)
	out := t.TempDir()
	st := CheckpointState{Step: 3, Config: cfg, Vocab: 300}
	for tokens := range 2 {
		st.Tokens = int64(tokens)
		if _, err := saveCheckpoint(out, ctx, st, 2); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := LatestCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := loadCheckpoint(dir)
	if err != nil || got.Tokens != 1 {
		t.Fatalf("reloaded %+v, %v: want the second save", got, err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/medmd/medmd/ingest/radmd"
)

// Labels appends curator labels to a JSONL file (radmd.Label, one object
// per line) and remembers the latest label of each id for the pages.
//
// Atomic append: each label is one line written with a single write(2)
// on a file opened O_APPEND, then fsynced before the POST is answered.
// O_APPEND makes the kernel place the whole write at the end of the
// file, so concurrent writers never interleave; a crash can at worst
// leave the last line cut short, which radmd.ParseLabels skips.
//
// INVARIANT: every line starts at the beginning of a line. If the file
// does not end in a newline when opened (the line a crash cut short), a
// newline is appended first, so the cut line stays alone and the next
// label is whole.
//
// INVARIANT: a label is acknowledged (Add returns nil) only after its
// line is on stable storage.
type Labels struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	latest map[string]string
	now    func() time.Time
}

// OpenLabels opens (creating if needed) the labels file at path and reads
// the labels already in it.
func OpenLabels(path string) (*Labels, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	l := &Labels{path: path, f: f, latest: map[string]string{}, now: time.Now}
	parsed, err := radmd.ParseLabels(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	l.latest = parsed.ByID
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("labels: %w", err)
	}
	if fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err != nil && !errors.Is(err, io.EOF) {
			f.Close()
			return nil, fmt.Errorf("labels: %w", err)
		}
		if last[0] != '\n' {
			if err := l.writeSync([]byte("\n")); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	return l, nil
}

// Path is the labels file.
func (l *Labels) Path() string { return l.path }

// Get returns the latest label of id ("" when none).
func (l *Labels) Get(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest[id]
}

// Count returns how many ids carry a label.
func (l *Labels) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.latest)
}

// Add appends one label line and syncs it (see the type's invariants).
func (l *Labels) Add(id, label, corpus string) error {
	if id == "" || !radmd.ValidLabel(label) {
		return fmt.Errorf("labels: want an id and keep, drop or unsure, got %q %q", id, label)
	}
	line, err := json.Marshal(radmd.Label{ID: id, Label: label, Corpus: corpus, Time: l.now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeSync(append(line, '\n')); err != nil {
		return err
	}
	l.latest[id] = label
	return nil
}

func (l *Labels) writeSync(b []byte) error {
	n, err := l.f.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("labels %s: %w", l.path, err)
	}
	return nil
}

// Close closes the file.
func (l *Labels) Close() error { return l.f.Close() }

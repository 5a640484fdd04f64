package datasets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// TestImageRowsAdmit: each row of an image-per-row table is read,
// skipped (not this run's) or quarantined with the reason.
func TestImageRowsAdmit(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Data_Entry.csv")
	csv := "Image Index,Finding Labels\n" +
		"a.png,No Finding\n" + // line 2: read
		"b.png,Effusion\n" + // line 3: not kept
		"a.png,Mass\n" + // line 4: duplicate of line 2
		",Mass\n" + // line 5: no image
		"c.png,\"unterminated\n" // line 6: CSV error
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl, err := (&tree{}).readCSV(context.Background(), file, ',')
	if err != nil {
		t.Fatal(err)
	}
	var bad []ingest.Unit
	rows := imageRows{file: file, rel: "Data_Entry.csv", col: "Image Index", seen: map[string]int{}, bad: &bad,
		keep: func(key string) bool { return key != "b.png" }}
	var read []string
	for _, r := range tbl.Rows {
		if name, id, ok := rows.admit(tbl, r); ok {
			read = append(read, name+"@"+id)
		}
	}
	if strings.Join(read, " ") != "a.png@Data_Entry.csv:2" {
		t.Fatalf("read %v", read)
	}
	want := []string{"duplicate image a.png (first at line 2)", "no Image Index", ""}
	if len(bad) != len(want) {
		t.Fatalf("%d quarantined, want %d: %+v", len(bad), len(want), bad)
	}
	for i, w := range want {
		err := bad[i].Data.(badUnit).Err
		var re *RowError
		if !strings.Contains(err.Error(), w) || w != "" && !errors.As(err, &re) {
			t.Errorf("unit %d: %v, want %q", i, err, w)
		}
	}
}

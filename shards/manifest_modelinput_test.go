package shards

import (
	"strings"
	"testing"
)

// Manifests of parallel tasks merge with their model input record, which
// must be the same in each (the pipeline's config hash already is).
func TestMergeKeepsModelInput(t *testing.T) {
	tiny := ModelInput{Channels: 1, ImageHeight: 16, ImageWidth: 16, VolumeHeight: 8, VolumeWidth: 8, ImageDepth: 8, Patch: [3]int{4, 8, 8}, DType: Uint8}
	other := tiny
	other.ImageDepth = 16
	for _, c := range []struct {
		name string
		a, b *ModelInput
		want string // "" = merges
	}{
		{"both record it", &tiny, &tiny, ""},
		{"neither records one", nil, nil, ""},
		{"one lacks it", &tiny, nil, "another model input"},
		{"they differ", &tiny, &other, "another model input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &Manifest{SchemaVersion: SchemaVersion, Pipeline: "p", ConfigHash: "h", ModelInput: c.a, Shards: []ShardStats{{Name: "shard-00000"}}}
			b := &Manifest{SchemaVersion: SchemaVersion, Pipeline: "p", ConfigHash: "h", ModelInput: c.b, Shards: []ShardStats{{Name: "shard-00001"}}}
			m, err := MergeManifests(a, b)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (m.ModelInput == nil) != (c.a == nil) || m.ModelInput != nil && *m.ModelInput != *c.a {
				t.Errorf("merged model input %+v, want %+v", m.ModelInput, c.a)
			}
		})
	}
}

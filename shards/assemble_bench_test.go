package shards

import "testing"

func BenchmarkAssemble2D(b *testing.B) {
	dir := benchDir(b)
	ss := make([]Sample, 4000)
	for i := range ss {
		ss[i] = testSample(i, 1, 1, 64, 64, Uint8)
	}
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{MaxSamples: 400})
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewLoader([]*Manifest{m}, LoaderConfig{Shuffle: true, Workers: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	plan := l.planOf(0).batches
	views := make([][]byte, 0, 4000)
	for _, p := range plan {
		for _, r := range p {
			v, _ := l.parts[r.part].shard.Image(int(r.row), 0)
			views = append(views, v.Voxels)
		}
	}
	b.Run("assemble", func(b *testing.B) {
		b.SetBytes(4 * 4096)
		i := 0
		for b.Loop() {
			bt, err := l.assemble(0, i, plan[i%len(plan)])
			if err != nil {
				b.Fatal(err)
			}
			bt.Release()
			i++
		}
	})
	b.Run("memcpy-random", func(b *testing.B) {
		b.SetBytes(4 * 4096)
		dst := make([]byte, 4*4096)
		i := 0
		for b.Loop() {
			for k := 0; k < 4; k++ {
				copy(dst[k*4096:], views[(4*i+k)%len(views)])
			}
			i++
		}
	})
	b.Run("memcpy-seq", func(b *testing.B) {
		b.SetBytes(4 * 4096)
		dst := make([]byte, 4*4096)
		var seq [][]byte
		for _, p := range l.parts {
			for r := 0; r < p.shard.Len(); r++ {
				v, _ := p.shard.Image(r, 0)
				seq = append(seq, v.Voxels)
			}
		}
		i := 0
		for b.Loop() {
			for k := 0; k < 4; k++ {
				copy(dst[k*4096:], seq[(4*i+k)%len(seq)])
			}
			i++
		}
	})
}

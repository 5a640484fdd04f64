package normalize

// Depth-rule bounds, as in RadFM's data pipeline: volumes are resized to a
// depth that is a multiple of 4 (the 3D-ViT's depth patch), at least one
// patch and at most 64 slices.
const (
	DepthMultiple = 4
	MinDepth      = 4
	MaxDepth      = 64
)

// TargetDepth returns the slice count a volume of depth d is resized to:
// the multiple of 4 nearest to d, ties rounding down (6→4, 10→8), never
// below 4 and capped at 64. A 2D image (d ≤ 1) keeps depth 1: it is stored
// once and the trainer broadcasts it, rather than being replicated 4×.
//
// The rule is 4·⌊(d+1)/4⌋: adding 1 before the floor division rounds
// remainders 3 up and 0–2 down, which is "nearest, ties down" for a
// multiple of 4 (the tie is remainder 2).
func TargetDepth(d int) int {
	if d <= 1 {
		return 1
	}
	t := DepthMultiple * ((d + 1) / DepthMultiple)
	if t < MinDepth {
		t = MinDepth
	}
	if t > MaxDepth {
		t = MaxDepth
	}
	return t
}

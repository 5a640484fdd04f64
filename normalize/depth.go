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
func TargetDepth(d int) int { return DepthFor(d, DepthMultiple, MaxDepth) }

// DepthFor is the depth rule for another patch depth and cap (a model
// geometry's): the multiple of multiple nearest to d, ties down, at least
// multiple, at most capDepth rounded down to a multiple; 1 for 2D (d ≤ 1).
// Nearest-with-ties-down is multiple·⌊(d + ⌈multiple/2⌉ − 1)/multiple⌋.
func DepthFor(d, multiple, capDepth int) int {
	if d <= 1 {
		return 1
	}
	if multiple < 1 {
		multiple = 1
	}
	t := multiple * ((d + (multiple+1)/2 - 1) / multiple)
	hi := max(multiple, capDepth/multiple*multiple)
	return min(max(t, multiple), hi)
}

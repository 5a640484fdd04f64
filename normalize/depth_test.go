package normalize

import "testing"

func TestTargetDepth(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{0, 1}, {1, 1}, // 2D stays depth 1
		{2, 4}, {3, 4}, {4, 4}, {5, 4},
		{6, 4}, // tie between 4 and 8 rounds down
		{7, 8}, {8, 8}, {9, 8},
		{10, 8}, // tie between 8 and 12 rounds down
		{11, 12}, {12, 12}, {14, 12}, {15, 16},
		{24, 24}, {25, 24}, {33, 32}, {62, 60}, {63, 64}, {64, 64},
		{66, 64}, {67, 64}, {316, 64}, {1000, 64},
	} {
		if got := TargetDepth(tc.in); got != tc.want {
			t.Errorf("TargetDepth(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

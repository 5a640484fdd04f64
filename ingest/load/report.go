package load

import (
	"fmt"

	"github.com/medmd/medmd/internal/montage"
)

// Line is what `medmd montage` prints after writing out with plane (""
// is axial): the picture's size, the slices shown, the input and the
// window.
func (r *Report) Line(out, plane string) string {
	win := fmt.Sprintf("window %.4g…%.4g", r.Lo, r.Hi)
	if r.AsIs {
		win = "uint8 as is"
	}
	if plane == "" {
		plane = montage.Axial
	}
	return fmt.Sprintf("wrote %s: %d×%d, %d %s slices %v of %s, %s", out, r.Width, r.Height, len(r.Slices), plane, r.Slices, r.What, win)
}

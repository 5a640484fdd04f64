package jpeg2000

import (
	"encoding/binary"
	"os"
	"testing"
)

func TestAdhoc(t *testing.T) {
	b, err := os.ReadFile(os.Getenv("J2K"))
	if err != nil {
		t.Skip()
	}
	dumpCoeffs = func(v []int32) {
		f, _ := os.Create("/tmp/j2k/coef.bin")
		binary.Write(f, binary.LittleEndian, v)
		f.Close()
	}
	img, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := os.ReadFile(os.Getenv("REF"))
	bad, maxd := 0, 0
	n := img.Width * img.Height
	for c := 0; c < img.Components; c++ {
		for i := 0; i < n; i++ {
			v := img.Pix[i*img.Components+c]
			var r int32
			if img.Precision > 8 {
				r = int32(uint16(ref[2*(c*n+i)]) | uint16(ref[2*(c*n+i)+1])<<8)
				if img.Signed {
					r = int32(int16(r))
				}
			} else {
				r = int32(ref[c*n+i])
				if img.Signed {
					r = int32(int8(r))
				}
			}
			if r != v {
				if bad < 5 {
					t.Logf("c%d px %d,%d got %d want %d", c, i%img.Width, i/img.Width, v, r)
				}
				bad++
				maxd = max(maxd, int(abs(r-v)))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d differ, max %d", bad, maxd)
	}
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

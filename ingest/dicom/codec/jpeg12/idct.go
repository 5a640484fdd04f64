package jpeg12

// idct is libjpeg's jpeg_idct_islow (jidctint.c, the default DCT method
// of libjpeg 6b, which DCMTK's dcmdjpeg and libjpeg-turbo use): a
// Loeffler–Ligtenberg–Moschytz transform in 13-bit fixed point, pass one
// on columns keeping pass1 extra bits (2 for 8-bit, 1 for 12-bit data),
// pass two on rows, then the range-limit table. Every step — constants,
// rounding, the zero-AC shortcuts (which are exact) — follows libjpeg so
// the output matches it sample for sample. Arithmetic is 64-bit, as
// libjpeg's INT32 (a C long) is on 64-bit Unix.
func idct(coef, q *[64]int32, dst []uint16, stride, pass1 int, rl []uint16, mask int) {
	const (
		cb      = 13
		fix0298 = 2446
		fix0390 = 3196
		fix0541 = 4433
		fix0765 = 6270
		fix0899 = 7373
		fix1175 = 9633
		fix1501 = 12299
		fix1847 = 15137
		fix1961 = 16069
		fix2053 = 16819
		fix2562 = 20995
		fix3072 = 25172
	)
	var ws [64]int
	for col := 0; col < 8; col++ {
		in := func(r int) int { return int(coef[8*r+col]) * int(q[8*r+col]) }
		if coef[8+col]|coef[16+col]|coef[24+col]|coef[32+col]|coef[40+col]|coef[48+col]|coef[56+col] == 0 {
			dc := in(0) << pass1
			for r := 0; r < 8; r++ {
				ws[8*r+col] = dc
			}
			continue
		}
		z2, z3 := in(2), in(6)
		z1 := (z2 + z3) * fix0541
		tmp2 := z1 - z3*fix1847
		tmp3 := z1 + z2*fix0765
		z2, z3 = in(0), in(4)
		tmp0 := (z2 + z3) << cb
		tmp1 := (z2 - z3) << cb
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = in(7), in(5), in(3), in(1)
		z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175
		tmp0 *= fix0298
		tmp1 *= fix2053
		tmp2 *= fix3072
		tmp3 *= fix1501
		z1 *= -fix0899
		z2 *= -fix2562
		z3 = z3*-fix1961 + z5
		z4 = z4*-fix0390 + z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		n := cb - pass1
		rd := 1 << (n - 1)
		ws[col] = (tmp10 + tmp3 + rd) >> n
		ws[56+col] = (tmp10 - tmp3 + rd) >> n
		ws[8+col] = (tmp11 + tmp2 + rd) >> n
		ws[48+col] = (tmp11 - tmp2 + rd) >> n
		ws[16+col] = (tmp12 + tmp1 + rd) >> n
		ws[40+col] = (tmp12 - tmp1 + rd) >> n
		ws[24+col] = (tmp13 + tmp0 + rd) >> n
		ws[32+col] = (tmp13 - tmp0 + rd) >> n
	}
	n := cb + pass1 + 3
	rd := 1 << (n - 1)
	for row := 0; row < 8; row++ {
		w := ws[8*row : 8*row+8]
		out := dst[row*stride : row*stride+8]
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := rl[((w[0]+1<<(pass1+2))>>(pass1+3))&mask]
			for i := range out {
				out[i] = v
			}
			continue
		}
		z2, z3 := w[2], w[6]
		z1 := (z2 + z3) * fix0541
		tmp2 := z1 - z3*fix1847
		tmp3 := z1 + z2*fix0765
		tmp0 := (w[0] + w[4]) << cb
		tmp1 := (w[0] - w[4]) << cb
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = w[7], w[5], w[3], w[1]
		z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175
		tmp0 *= fix0298
		tmp1 *= fix2053
		tmp2 *= fix3072
		tmp3 *= fix1501
		z1 *= -fix0899
		z2 *= -fix2562
		z3 = z3*-fix1961 + z5
		z4 = z4*-fix0390 + z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		out[0] = rl[((tmp10+tmp3+rd)>>n)&mask]
		out[7] = rl[((tmp10-tmp3+rd)>>n)&mask]
		out[1] = rl[((tmp11+tmp2+rd)>>n)&mask]
		out[6] = rl[((tmp11-tmp2+rd)>>n)&mask]
		out[2] = rl[((tmp12+tmp1+rd)>>n)&mask]
		out[5] = rl[((tmp12-tmp1+rd)>>n)&mask]
		out[3] = rl[((tmp13+tmp0+rd)>>n)&mask]
		out[4] = rl[((tmp13-tmp0+rd)>>n)&mask]
	}
}

// rangeLimit8 and rangeLimit12 are libjpeg's post-IDCT range-limit tables
// (jdmaster.c prepare_range_limit_table), indexed by the descaled value
// masked to 4×(MAXJSAMPLE+1): the level shift by CENTERJSAMPLE and the
// clamp to [0, MAXJSAMPLE], with the same wrap-around for wildly corrupt
// coefficients.
var rangeLimit8, rangeLimit12 = rangeLimit(8), rangeLimit(12)

func rangeLimit(prec int) []uint16 {
	maxv := 1<<prec - 1
	center := 1 << (prec - 1)
	size := 4 * (maxv + 1)
	t := make([]uint16, size)
	for i := range t {
		switch {
		case i < 2*(maxv+1):
			t[i] = uint16(min(i+center, maxv))
		case i >= size-center:
			t[i] = uint16(i - (size - center))
		}
	}
	return t
}

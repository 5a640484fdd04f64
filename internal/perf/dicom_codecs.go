package perf

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/medmd/medmd/ingest/dicom"
	"github.com/medmd/medmd/ingest/dicom/codec/jpeg12"
	"github.com/medmd/medmd/ingest/dicom/codec/jpeg2000"
	"github.com/medmd/medmd/ingest/dicom/codec/jpegls"
	"github.com/medmd/medmd/internal/stats"
)

// codecCase is one compressed transfer syntax timed against a reference
// decoder: encode makes a one-frame compressed file from src (a Debian
// encoder), decode is medmd's codec on one frame, refArgs the reference
// tool's arguments decoding in to out.
type codecCase struct {
	key      string // result name: dicom/decode/<key>
	encoder  string
	encArgs  func(in, out string) []string
	bits12   bool // input rescaled to 12-bit unsigned first
	decode   func(frame []byte) error
	ref      string
	refArgs  func(in, out string) []string
	refLabel string
	goal     float64
}

var codecCases = []codecCase{
	{
		key: "jpegls_lossless", encoder: "dcmcjpls",
		encArgs: func(in, out string) []string { return []string{in, out} },
		decode:  func(fr []byte) error { _, err := jpegls.Decode(fr); return err },
		ref:     "dcmdjpls", refArgs: func(in, out string) []string { return []string{in, out} },
		refLabel: "DCMTK dcmdjpls (CharLS)", goal: 0.5,
	},
	{
		key: "jpeg12_extended", encoder: "dcmcjpeg", bits12: true,
		// +ee: extended sequential (process 4), 12 bits; +q90 lossy.
		encArgs: func(in, out string) []string { return []string{"+ee", "+q", "90", in, out} },
		decode:  func(fr []byte) error { _, err := jpeg12.Decode(fr); return err },
		ref:     "dcmdjpeg", refArgs: func(in, out string) []string { return []string{in, out} },
		refLabel: "DCMTK dcmdjpeg (IJG 12-bit)", goal: 0.5,
	},
	// JPEG 2000 is timed by jpeg2000Row: its reference reads bare
	// codestreams, one per file, not a multi-frame DICOM file.
}

// codecRows times medmd's pure-Go decoders on 512×512 16-bit CT frames,
// one thread, against the reference tools, in the same run. Input: the
// real CT slice (ctTemplate), encoded once by the Debian encoder, its
// frame repeated into an n-frame file (the same codestream n times: the
// repository holds one real CT slice). Both sides decode those n frames:
// medmd calls the codec on each frame in one goroutine; the reference tool
// is one process decoding the whole file (start-up amortised over n
// frames). The reference's per-frame time is (t(n) − t(1))/(n − 1), its
// run on the n-frame file minus its run on the 1-frame file (which holds
// process start-up, file parse and writing the output header), so
// neither side is charged for start-up. JPEG 2000 does the same with
// bare codestreams in a folder (jpeg2000Row). Raw times are in Extra. A
// missing tool skips its row with a printed reason. Last, on every core,
// a whole JPEG 2000 series through dicom2nii against dcm2niix
// (jpeg2000SeriesRow).
func codecRows(ctx context.Context, o Options, repeats int) ([]Result, error) {
	n := 64
	if o.Quick {
		n = 16
	}
	tmpl, err := repoFiles(ctTemplate)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.TempDir, "dicom", "codecs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	var out []Result
	for _, c := range codecCases {
		r, err := codecRow(ctx, c, tmpl[0], dir, n, repeats)
		if errors.Is(err, ErrNoReference) {
			fmt.Fprintf(os.Stderr, "perf: dicom/decode/%s skipped: %v\n", c.key, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dicom/decode/%s: %w", c.key, err)
		}
		out = append(out, r)
	}
	r, err := jpeg2000Row(ctx, tmpl[0], filepath.Join(dir, "jpeg2000"), n, repeats)
	switch {
	case errors.Is(err, ErrNoReference):
		fmt.Fprintf(os.Stderr, "perf: dicom/decode/jpeg2000_lossless_ct_512x512 skipped: %v\n", err)
	case err != nil:
		return nil, fmt.Errorf("dicom/decode/jpeg2000_lossless_ct_512x512: %w", err)
	default:
		out = append(out, r)
	}
	// The series row runs on every core, as dicom2nii and dcm2niix do.
	runtime.GOMAXPROCS(prev)
	slices := 200
	if o.Quick {
		slices = 40
	}
	r, err = jpeg2000SeriesRow(ctx, tmpl[0], filepath.Join(dir, "jpeg2000_series"), slices, repeats)
	switch {
	case errors.Is(err, ErrNoReference):
		fmt.Fprintf(os.Stderr, "perf: dicom/dicom2nii/ct_jpeg2000_512x512x%d skipped: %v\n", slices, err)
	case err != nil:
		return nil, fmt.Errorf("dicom/dicom2nii/ct_jpeg2000_512x512x%d: %w", slices, err)
	default:
		out = append(out, r)
	}
	return out, nil
}

// jpeg2000SeriesRow times medmd dicom2nii (dicom.Convert, .nii, all
// cores) against dcm2niix -z n (which decodes with OpenJPEG) converting
// the same JPEG 2000 lossless CT series: n slices replicated from the
// real CT slice (the dicom group's series, without its distractors),
// each compressed at run time by GDCM's gdcmconv --j2k (itself OpenJPEG)
// into a temporary folder. Before timing, the .nii medmd writes from the
// compressed series is checked to equal, byte for byte, the one it
// writes from the uncompressed series: the row times a decode that is
// right. The time to convert the uncompressed series is in Extra.
func jpeg2000SeriesRow(ctx context.Context, src, dir string, n, repeats int) (Result, error) {
	for _, tool := range []struct{ name, pkg string }{{"gdcmconv", "libgdcm-tools"}, {"dcm2niix", "dcm2niix"}} {
		if _, err := LookReference(tool.name); err != nil {
			return Result{}, fmt.Errorf("%w (Debian package %s)", err, tool.pkg)
		}
	}
	slice, err := os.ReadFile(src)
	if err != nil {
		return Result{}, err
	}
	plain, j2k := filepath.Join(dir, "plain"), filepath.Join(dir, "j2k")
	for _, d := range []string{plain, j2k} {
		if err := os.RemoveAll(d); err != nil {
			return Result{}, err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Result{}, err
		}
	}
	if err := dicom.WriteSynthSeries(plain, slice, dicom.SynthOptions{Slices: n, SeriesUID: "1.2.826.0.1.3680043.10.1234.9",
		PixelSpacing: 0.68, SliceStep: 1.25, NamePrefix: "ct"}); err != nil {
		return Result{}, err
	}
	names, err := filepath.Glob(filepath.Join(plain, "*"))
	if err != nil {
		return Result{}, err
	}
	if len(names) != n {
		return Result{}, fmt.Errorf("wrote %d files, want %d", len(names), n)
	}
	// One gdcmconv process per file, as many at once as there are cores.
	jobs := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				_, err := RunReference(ctx, "gdcmconv", "--j2k", f, filepath.Join(j2k, filepath.Base(f)))
				errs <- err
			}
		}()
	}
	for _, f := range names {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return Result{}, fmt.Errorf("gdcmconv --j2k: %w", err)
		}
	}
	var j2kBytes int64
	for _, f := range names {
		st, err := os.Stat(filepath.Join(j2k, filepath.Base(f)))
		if err != nil {
			return Result{}, err
		}
		j2kBytes += st.Size()
	}
	outPlain, outJ2K := filepath.Join(dir, "out_plain"), filepath.Join(dir, "out_j2k")
	convert := func(in, out string) func() error {
		return func() error {
			if err := os.RemoveAll(out); err != nil {
				return err
			}
			rep, err := dicom.Convert(ctx, in, out, dicom.ConvertOptions{NoGzip: true})
			if err != nil {
				return err
			}
			if bad := append(rep.Failed, rep.Skipped...); len(bad) > 0 || rep.VolumeN != 1 {
				first := ""
				if len(bad) > 0 {
					first = bad[0].Ref + ": " + bad[0].Reason
				}
				return fmt.Errorf("%s: %d volumes, %d files not converted (first %s)", in, rep.VolumeN, len(bad), first)
			}
			return nil
		}
	}
	if err := convert(plain, outPlain)(); err != nil {
		return Result{}, err
	}
	if err := convert(j2k, outJ2K)(); err != nil {
		return Result{}, err
	}
	if err := sameNIfTI(outPlain, outJ2K); err != nil {
		return Result{}, err
	}
	ref := filepath.Join(dir, "dcm2niix")
	dcm2niix := func() error {
		if err := os.RemoveAll(ref); err != nil {
			return err
		}
		if err := os.MkdirAll(ref, 0o755); err != nil {
			return err
		}
		_, err := RunReference(ctx, "dcm2niix", "-z", "n", "-f", "%s", "-o", ref, j2k)
		return err
	}
	ts, err := alternatingMedians(repeats, convert(j2k, outJ2K), dcm2niix, convert(plain, outPlain))
	if err != nil {
		return Result{}, err
	}
	ours, d2n, oursPlain := ts[0], ts[1], ts[2]
	r := Result{Name: fmt.Sprintf("dicom/dicom2nii/ct_jpeg2000_512x512x%d", n), Unit: "s", Value: ours,
		BaselineName:  "dcm2niix -z n (OpenJPEG) converting the same gdcmconv --j2k series to .nii",
		BaselineValue: d2n, Goal: 0.5,
		Extra: map[string]float64{"slices": float64(n), "j2k_bytes": float64(j2kBytes),
			"ours_uncompressed_series_s": oursPlain, "cores": float64(runtime.GOMAXPROCS(0))}}
	r.Finish(false)
	return r, nil
}

// alternatingMedians runs each of fs once to warm up, then n rounds of
// each in turn, and returns their median wall times in seconds. Taking
// turns keeps a change in the machine's load (a shared machine) from
// falling on one side of a comparison only.
func alternatingMedians(n int, fs ...func() error) ([]float64, error) {
	for _, f := range fs {
		if err := f(); err != nil {
			return nil, err
		}
	}
	ts := make([][]float64, len(fs))
	for range max(n, 1) {
		for i, f := range fs {
			t0 := time.Now()
			if err := f(); err != nil {
				return nil, err
			}
			ts[i] = append(ts[i], time.Since(t0).Seconds())
		}
	}
	out := make([]float64, len(fs))
	for i := range ts {
		out[i] = stats.Median(ts[i])
	}
	return out, nil
}

// sameNIfTI checks that folders a and b hold the same .nii files with the
// same bytes.
func sameNIfTI(a, b string) error {
	na, err := filepath.Glob(filepath.Join(a, "*.nii"))
	if err != nil {
		return err
	}
	if len(na) == 0 {
		return fmt.Errorf("%s: no .nii written", a)
	}
	for _, f := range na {
		x, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil {
			return fmt.Errorf("the JPEG 2000 series did not convert like the uncompressed one: %w", err)
		}
		if !bytes.Equal(x, y) {
			return fmt.Errorf("%s: the JPEG 2000 series converts to other bytes than the uncompressed one", filepath.Base(f))
		}
	}
	return nil
}

// jpeg2000Row times jpeg2000.Decode against OpenJPEG's opj_decompress
// (one thread) on the real CT slice encoded losslessly (reversible 5/3,
// opj_compress defaults) by opj_compress. opj_decompress reads one
// codestream per file, so the n frames are n copies of the .j2k in one
// folder, decoded by one `opj_decompress -ImgDir` process (start-up
// amortised as for the DICOM rows); its per-frame time is (t(n) −
// t(1))/(n − 1) from a folder of n files and one of 1. It writes each
// frame as raw little-endian next to its input (as dcmdjpls writes its
// output file), and skips those outputs on the next run. Our decode is
// checked against the slice's pixels first: the row times a lossless
// decode that is right.
func jpeg2000Row(ctx context.Context, src, dir string, n, repeats int) (Result, error) {
	for _, tool := range []string{"opj_compress", "opj_decompress"} {
		if _, err := LookReference(tool); err != nil {
			return Result{}, fmt.Errorf("%w (Debian package libopenjp2-tools)", err)
		}
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return Result{}, err
	}
	const w, h = 512, 512
	if len(b) < w*h*2 {
		return Result{}, fmt.Errorf("%s: shorter than one 512×512 16-bit frame", src)
	}
	// The template is native little-endian signed 16-bit with Pixel Data
	// last: its tail is the raw frame opj_compress reads.
	pix := b[len(b)-w*h*2:]
	dirOne, dirN := filepath.Join(dir, "1"), filepath.Join(dir, fmt.Sprint(n))
	for _, d := range []string{dirOne, dirN} {
		if err := os.RemoveAll(d); err != nil {
			return Result{}, err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Result{}, err
		}
	}
	raw := filepath.Join(dir, "ct.rawl")
	if err := os.WriteFile(raw, pix, 0o644); err != nil {
		return Result{}, err
	}
	first := filepath.Join(dirOne, "f0000.j2k")
	if _, err := RunReference(ctx, "opj_compress", "-i", raw, "-o", first, "-F", fmt.Sprintf("%d,%d,1,16,s", w, h)); err != nil {
		return Result{}, err
	}
	frame, err := os.ReadFile(first)
	if err != nil {
		return Result{}, err
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dirN, fmt.Sprintf("f%04d.j2k", i)), frame, 0o644); err != nil {
			return Result{}, err
		}
	}
	img, err := jpeg2000.Decode(frame)
	if err != nil {
		return Result{}, fmt.Errorf("medmd cannot decode opj_compress's codestream: %w", err)
	}
	if img.Width != w || img.Height != h || img.Components != 1 || len(img.Pix) != w*h {
		return Result{}, fmt.Errorf("decoded %d×%d×%d, want %d×%d×1", img.Width, img.Height, img.Components, w, h)
	}
	for i, v := range img.Pix {
		if want := int32(int16(binary.LittleEndian.Uint16(pix[2*i:]))); v != want {
			return Result{}, fmt.Errorf("lossless decode differs from the slice at pixel %d: %d, want %d", i, v, want)
		}
	}
	ours, err := MedianTime(repeats, func() error {
		for range n {
			if _, err := jpeg2000.Decode(frame); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	refRun := func(d string) (float64, error) {
		return MedianTime(repeats, func() error {
			_, err := RunReference(ctx, "opj_decompress", "-ImgDir", d, "-OutFor", "RAWL", "-threads", "1", "-quiet")
			return err
		})
	}
	t1, err := refRun(dirOne)
	if err != nil {
		return Result{}, err
	}
	tn, err := refRun(dirN)
	if err != nil {
		return Result{}, err
	}
	r := Result{Name: "dicom/decode/jpeg2000_lossless_ct_512x512", Unit: "s/frame", Value: ours / float64(n),
		BaselineName:  fmt.Sprintf("OpenJPEG opj_decompress -threads 1, (t(%d files) − t(1 file))/%d, one process per folder (-ImgDir)", n, n-1),
		BaselineValue: (tn - t1) / float64(n-1), Goal: 0.5,
		Extra: map[string]float64{"frames": float64(n), "frame_bytes": float64(len(frame)),
			"ours_total_s": ours, "ref_total_s": tn, "ref_1frame_s": t1,
			"ratio_vs_ref_total": tn / ours}}
	r.Finish(false)
	return r, nil
}

func codecRow(ctx context.Context, c codecCase, src, dir string, n, repeats int) (Result, error) {
	for _, tool := range []string{c.encoder, c.ref, "dcmodify"} {
		if _, err := LookReference(tool); err != nil {
			return Result{}, err
		}
	}
	in := src
	if c.bits12 {
		in = filepath.Join(dir, c.key+"_12bit.dcm")
		if err := write12Bit(ctx, src, in); err != nil {
			return Result{}, err
		}
	}
	one := filepath.Join(dir, c.key+"_1.dcm")
	if _, err := RunReference(ctx, c.encoder, c.encArgs(in, one)...); err != nil {
		return Result{}, err
	}
	multi := filepath.Join(dir, fmt.Sprintf("%s_%d.dcm", c.key, n))
	frame, err := repeatFrame(ctx, one, multi, n)
	if err != nil {
		return Result{}, err
	}
	if err := c.decode(frame); err != nil {
		return Result{}, fmt.Errorf("medmd cannot decode the encoder's frame: %w", err)
	}
	ours, err := MedianTime(repeats, func() error {
		for range n {
			if err := c.decode(frame); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	refRun := func(file string) (float64, error) {
		dst := filepath.Join(dir, "ref_out.dcm")
		return MedianTime(repeats, func() error {
			_, err := RunReference(ctx, c.ref, c.refArgs(file, dst)...)
			return err
		})
	}
	t1, err := refRun(one)
	if err != nil {
		return Result{}, err
	}
	tn, err := refRun(multi)
	if err != nil {
		return Result{}, err
	}
	refFrame := (tn - t1) / float64(n-1)
	r := Result{Name: "dicom/decode/" + c.key + "_ct_512x512", Unit: "s/frame", Value: ours / float64(n),
		BaselineName:  fmt.Sprintf("%s, (t(%d frames) − t(1 frame))/%d, one process per file", c.refLabel, n, n-1),
		BaselineValue: refFrame, Goal: c.goal,
		Extra: map[string]float64{"frames": float64(n), "frame_bytes": float64(len(frame)),
			"ours_total_s": ours, "ref_total_s": tn, "ref_1frame_s": t1,
			"ratio_vs_ref_total": tn / ours}}
	r.Finish(false)
	return r, nil
}

// write12Bit writes src's pixels as 12-bit unsigned (HU + 1024, clamped
// to 0..4095; BitsStored 12, HighBit 11, PixelRepresentation 0), the input
// 12-bit extended JPEG takes.
func write12Bit(ctx context.Context, src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	const pix = 512 * 512 * 2
	if len(b) < pix {
		return fmt.Errorf("%s: shorter than one 512×512 16-bit frame", src)
	}
	// The template is native little-endian with Pixel Data last.
	p := b[len(b)-pix:]
	for i := 0; i < pix; i += 2 {
		v := int(int16(binary.LittleEndian.Uint16(p[i:]))) + 1024
		binary.LittleEndian.PutUint16(p[i:], uint16(min(max(v, 0), 4095)))
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return err
	}
	_, err = RunReference(ctx, "dcmodify", "-nb", "-m", "(0028,0101)=12", "-m", "(0028,0102)=11", "-m", "(0028,0103)=0",
		"-m", "(0028,1052)=-1024", dst)
	return err
}

// repeatFrame writes dst: the one-frame encapsulated file src with its
// frame repeated n times (one fragment each, empty Basic Offset Table)
// and NumberOfFrames n. It returns the frame.
func repeatFrame(ctx context.Context, src, dst string, n int) ([]byte, error) {
	tmp := dst + ".hdr"
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if _, err := RunReference(ctx, "dcmodify", "-nb", "-i", fmt.Sprintf("(0028,0008)=%d", n), tmp); err != nil {
		return nil, err
	}
	h, err := os.ReadFile(tmp)
	if err != nil {
		return nil, err
	}
	pixTag := []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}
	at := bytes.LastIndex(h, pixTag)
	if at < 0 {
		return nil, fmt.Errorf("%s: no encapsulated pixel data", src)
	}
	items := h[at+len(pixTag):]
	var frame []byte
	for off, first := 0, true; off+8 <= len(items); first = false {
		vl := int(binary.LittleEndian.Uint32(items[off+4:]))
		if binary.LittleEndian.Uint32(items) != 0xE000FFFE && first {
			return nil, fmt.Errorf("%s: pixel data does not start with an item", src)
		}
		if binary.LittleEndian.Uint32(items[off:]) == 0xE0DDFFFE {
			break
		}
		if off+8+vl > len(items) {
			return nil, fmt.Errorf("%s: fragment overruns the file", src)
		}
		if !first {
			frame = append(frame, items[off+8:off+8+vl]...)
		}
		off += 8 + vl
	}
	out := append([]byte{}, h[:at+len(pixTag)]...)
	item := func(v []byte) {
		out = binary.LittleEndian.AppendUint32(out, 0xE000FFFE)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	item(nil)
	for range n {
		item(frame)
	}
	out = append(out, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0)
	return frame, os.WriteFile(dst, out, 0o644)
}

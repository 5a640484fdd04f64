package serve

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/medmd/medmd/ingest/radmd"
)

// chromium returns the path of a Chromium or Chrome binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives a real headless Chromium through a curator's visit:
// overview, search, a 3D sample, the slice slider, a label, the RadMD
// audit and the RadBench splits. With
// MEDMD_SCREENSHOTS=DIR it also saves a screenshot of each page there
// (the README's pictures: MEDMD_SCREENSHOTS=docs/serve go test -run
// TestBrowser ./serve/).
func TestBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium found (Debian package chromium, installed by make deps): skipping the browser test")
	}
	corpus, radmdDir := fixture(t)
	labels := filepath.Join(t.TempDir(), "labels.jsonl")
	s := newServer(t, labels, corpus, radmdDir)
	ts := httptest.NewServer(s)
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.DisableGPU)
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shots := os.Getenv("MEDMD_SCREENSHOTS")
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			if blank(t, buf) {
				t.Errorf("%s: the screenshot is blank", name)
			}
			if shots != "" {
				return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
			}
			return nil
		})
	}
	value := func(a chromedp.Action[string], into *string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			*into, err = a(ctx, tg)
			return err
		})
	}
	attr := func(sel, name string, into *string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			r, err := chromedp.AttributeValue(chromedp.CSS(sel), name)(ctx, tg)
			*into = r.Value
			return err
		})
	}
	eval := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](js)(ctx, tg)
			return err
		})
	}
	poll := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](js)(ctx, tg)
			return err
		})
	}
	// RadBench on a server of its own (its splits would change the other
	// pages' counts), once its background leakage check has finished.
	bs := newServer(t, "", radbenchFixture(t))
	waitLeakCheck(t, bs)
	tsb := httptest.NewServer(bs)
	defer tsb.Close()
	var total, src1, src2, label, leak string
	err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#corpus-medmd`)),
		shot("overview"),
		chromedp.Navigate(ts.URL+"/samples"),
		chromedp.WaitVisible(chromedp.CSS(`#q`)),
		chromedp.SetValue(chromedp.CSS(`#q`), "nodule"),
		chromedp.Click(chromedp.CSS(`#search`)),
		chromedp.WaitVisible(chromedp.CSS(`mark`)),
		value(chromedp.Text(chromedp.CSS(`#total`)), &total),
		poll(`[...document.images].every(i => i.complete && i.naturalWidth > 0)`),
		shot("samples"),
		chromedp.Click(chromedp.CSS(`a[href^="/samples/`+ctID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input.slider`)),
		attr(`img.slice`, "src", &src1),
		// Move the slider as a user does: set its value and fire input.
		eval(`(() => { const s = document.querySelector("input.slider"); s.value = "2"; s.dispatchEvent(new Event("input")); })()`),
		chromedp.SetValue(chromedp.CSS(`select.window`), "lung"),
		eval(`document.querySelector("select.window").dispatchEvent(new Event("change"))`),
		poll(`document.querySelector("img.slice").complete && document.querySelector("img.slice").naturalWidth > 0 && document.querySelector("img.slice").src.includes("window=lung")`),
		attr(`img.slice`, "src", &src2),
		shot("sample"),
		chromedp.Click(chromedp.CSS(`#label-drop`)),
		// The POST answers with a redirect to the sample page: wait for
		// the new page before reading it.
		chromedp.Sleep(time.Second),
		chromedp.WaitVisible(chromedp.CSS(`#current-label`)),
		value(chromedp.Text(chromedp.CSS(`#current-label`)), &label),
		chromedp.Navigate(ts.URL+"/radmd"),
		chromedp.WaitVisible(chromedp.CSS(`table.rules`)),
		poll(`[...document.images].every(i => i.complete)`),
		shot("radmd"),
		chromedp.Navigate(tsb.URL+"/radbench"),
		chromedp.WaitVisible(chromedp.CSS(`section.corpus table.list`)),
		value(chromedp.Text(chromedp.CSS(`section.corpus`)), &leak),
		shot("radbench"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(total) != "1" {
		t.Errorf("search found %q samples, want 1", total)
	}
	if src1 == src2 || !strings.Contains(src2, "slice=2") || !strings.Contains(src2, "window=lung") {
		t.Errorf("slider did not change the slice: %q → %q", src1, src2)
	}
	if !strings.Contains(leak, "identical") || strings.Contains(leak, "running") {
		t.Errorf("/radbench shows no finished leakage report:\n%s", leak)
	}
	if label != "drop" {
		t.Errorf("label shown after clicking drop: %q", label)
	}
	got, err := radmd.ReadLabels(labels)
	if err != nil {
		t.Fatal(err)
	}
	if got.ByID[ctID] != radmd.LabelDrop {
		t.Errorf("labels file holds %v, want %s dropped", got.ByID, ctID)
	}
	b, _ := os.ReadFile(labels)
	if !bytes.Contains(b, []byte(`"id":"`+ctID+`","label":"drop","corpus":"medmd"`)) {
		t.Errorf("labels file:\n%s", b)
	}
}

// blank reports whether a PNG screenshot is one colour.
func blank(t *testing.T, b []byte) bool {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return true
	}
	r := img.Bounds()
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}

package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// TestBrowserGateCamera: the gate page reads a holder's QR from the camera
// (Chromium's fake camera playing a video of the QR) and checks it.
func TestBrowserGateCamera(t *testing.T) {
	srv, a, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	ctx := authority.WithActor(context.Background(), "test")
	_, gateKey, err := a.AddClient(ctx, permit.RoleVerifier, "Gate 2", "railway")
	if err != nil {
		t.Fatal(err)
	}
	device, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.IssueAtCounter(ctx, permit.HKHomeReturnPermit, "H12345678", permit.ReasonForgotten, &device.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pres, err := credential.Present(c.Token, device, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	text := credential.EncodeQR(pres)
	video := filepath.Join(t.TempDir(), "qr.y4m")
	writeQRVideo(t, video, text)

	b := browser(t, chromedp.Flag("use-file-for-fake-video-capture", video))
	type id = chromedp.ID
	do(t, b, "scan at the gate",
		acceptLanguage("en"),
		chromedp.Navigate(srv.URL+"/gate"),
		chromedp.WaitVisible(id("gate-form")),
		chromedp.SendKeys(id("api-key"), gateKey),
		chromedp.Click(id("use-train")),
		chromedp.Click(id("scan-start")),
		chromedp.WaitVisible(id("result")),
	)
	if got := value(t, b, chromedp.Value(id("qr-text"))); got != text {
		t.Errorf("the camera read %q; want the holder's QR", got)
	}
	if d := value(t, b, chromedp.AttributeValue(id("result"), "data-decision")).Value; d != "accept" {
		t.Errorf("decision %q after a camera scan; want accept", d)
	}
}

// writeQRVideo writes text's QR code as a one-frame YUV4MPEG2 video, the
// format Chromium's fake camera plays (--use-file-for-fake-video-capture):
// dark modules 4 pixels wide on white, in the middle of a 640×480 frame.
func writeQRVideo(t *testing.T, path, text string) {
	t.Helper()
	s, err := qrcode.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	const w, h, scale = 640, 480, 4
	luma := bytes.Repeat([]byte{235}, w*h) // white, in video range
	off := func(size int) int { return (size - s.Size()*scale) / 2 }
	for my := range s.Size() {
		for mx := range s.Size() {
			if !s.Dark(mx, my) {
				continue
			}
			for dy := range scale {
				row := (off(h)+my*scale+dy)*w + off(w) + mx*scale
				copy(luma[row:row+scale], []byte{16, 16, 16, 16}) // black
			}
		}
	}
	var f bytes.Buffer
	f.WriteString("YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\nFRAME\n")
	f.Write(luma)
	f.Write(bytes.Repeat([]byte{128}, w*h/2)) // no colour: both chroma planes at the middle
	if err := os.WriteFile(path, f.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Package qrcode draws the gate QR code of an EP1 presentation (spec §3) and
// reads one back from an image.
//
// Encode uses QR alphanumeric mode and error correction level M, as spec §3
// requires, and picks the smallest version that holds the text; Symbol.Version
// reports it. An EP1 text is base45, whose alphabet is exactly the QR
// alphanumeric set, so the whole text is one alphanumeric segment: 5.5 bits a
// character instead of 8 in byte mode. Level M holds up to 656 alphanumeric
// characters in version 16, the size spec §3 budgets for.
//
// Decode reads any image.Image (a rendered PNG, a screenshot, a photo) with
// the ZXing port gozxing, the decoder epermit verify --png and the tests use.
//
//	sym, err := qrcode.Encode(credential.EncodeQR(presentation))
//	png, err := sym.PNG(qrcode.DefaultScale)
//	text, err := qrcode.DecodePNG(png) // text == credential.EncodeQR(presentation)
package qrcode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	yqr "github.com/yeqown/go-qrcode/v2"
)

// QuietZone is the light margin around the symbol, in modules: the 4 that
// ISO/IEC 18004 requires for readers to find the finder patterns.
const QuietZone = 4

// DefaultScale is the pixels per module of Render: a version 16 symbol
// (81 modules) becomes a 356-pixel square, large enough for a phone camera
// at arm's length and small enough for any screen.
const DefaultScale = 4

// MaxPixels bounds the images DecodePNG accepts (width × height), checked
// from the PNG header before the pixels are decompressed, so a small file
// cannot claim gigabytes of memory.
const MaxPixels = 40 << 20

// ErrNotFound is returned by Decode when the image holds no readable QR code.
var ErrNotFound = errors.New("qrcode: no readable QR code in the image")

// Symbol is an encoded QR code: its version and its grid of modules.
type Symbol struct {
	// Version is the QR version, 1 to 40; the symbol is 17 + 4×Version
	// modules wide.
	Version int
	dark    [][]bool // [y][x], true for a dark module
}

// Encode encodes text as a QR code in alphanumeric mode at error correction
// level M, in the smallest version that holds it. text must use only the QR
// alphanumeric characters (0–9, A–Z, space, $%*+-./:), as every EP1 text
// does.
func Encode(text string) (*Symbol, error) {
	return encode(text, yqr.WithEncodingMode(yqr.EncModeAlphanumeric))
}

// encode encodes text at error correction level M in the given mode.
func encode(text string, mode yqr.EncodeOption) (*Symbol, error) {
	if text == "" {
		return nil, errors.New("qrcode: empty text")
	}
	q, err := yqr.NewWith(text, mode, yqr.WithErrorCorrectionLevel(yqr.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qrcode: %w", err)
	}
	var m matrixWriter
	if err := q.Save(&m); err != nil {
		return nil, fmt.Errorf("qrcode: %w", err)
	}
	n := len(m.dark)
	if n < 21 || (n-17)%4 != 0 {
		return nil, fmt.Errorf("qrcode: encoder returned a %d-module symbol", n)
	}
	return &Symbol{Version: (n - 17) / 4, dark: m.dark}, nil
}

// matrixWriter receives the finished matrix from go-qrcode; the library's
// own image writers live in a separate module that is not needed for a
// two-colour square.
type matrixWriter struct{ dark [][]bool }

func (w *matrixWriter) Write(m yqr.Matrix) error { w.dark = m.Bitmap(); return nil }
func (w *matrixWriter) Close() error             { return nil }

// Size is the width (and height) of the symbol in modules, without the quiet
// zone.
func (s *Symbol) Size() int { return len(s.dark) }

// Dark reports whether the module at column x, row y is dark; outside the
// symbol (the quiet zone) everything is light.
func (s *Symbol) Dark(x, y int) bool {
	return y >= 0 && y < len(s.dark) && x >= 0 && x < len(s.dark[y]) && s.dark[y][x]
}

// Image draws the symbol with scale pixels per module (at least 1) and the
// quiet zone, black on white. It is a two-colour paletted image, so PNG
// stores it at one bit per pixel.
func (s *Symbol) Image(scale int) *image.Paletted {
	scale = max(scale, 1)
	side := (s.Size() + 2*QuietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range s.Size() {
		for x := range s.Size() {
			if !s.dark[y][x] {
				continue
			}
			x0, y0 := (x+QuietZone)*scale, (y+QuietZone)*scale
			for py := y0; py < y0+scale; py++ {
				row := img.Pix[py*img.Stride : py*img.Stride+side]
				for px := x0; px < x0+scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	return img
}

// PNG returns Image(scale) encoded as PNG.
func (s *Symbol) PNG(scale int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, s.Image(scale)); err != nil {
		return nil, fmt.Errorf("qrcode: %w", err)
	}
	return buf.Bytes(), nil
}

// Render encodes text (see Encode) and returns it as a PNG at DefaultScale,
// with the QR version used.
func Render(text string) (pngData []byte, version int, err error) {
	s, err := Encode(text)
	if err != nil {
		return nil, 0, err
	}
	b, err := s.PNG(DefaultScale)
	if err != nil {
		return nil, 0, err
	}
	return b, s.Version, nil
}

// DecodePNG reads a PNG and returns the text of the QR code in it. Input
// that is not a PNG, or larger than MaxPixels, is an error; an image without
// a readable QR code gives ErrNotFound.
func DecodePNG(b []byte) (string, error) {
	return DecodePNGFrom(bytes.NewReader(b))
}

// DecodePNGFrom is DecodePNG reading from r.
func DecodePNGFrom(r io.Reader) (string, error) {
	var head bytes.Buffer
	cfg, err := png.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return "", fmt.Errorf("qrcode: not a PNG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return "", fmt.Errorf("qrcode: PNG of %d×%d pixels is outside the accepted size", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(io.MultiReader(&head, r))
	if err != nil {
		return "", fmt.Errorf("qrcode: not a PNG image: %w", err)
	}
	return Decode(img)
}

// Decode returns the text of the QR code in img. It first reads img as a
// clean rendering (one symbol on a plain background, as Symbol.Image draws
// it), which is fast, then searches the whole image as a camera picture.
// An image without a readable QR code gives ErrNotFound.
func Decode(img image.Image) (text string, err error) {
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > MaxPixels {
		return "", fmt.Errorf("qrcode: image of %d×%d pixels is outside the accepted size", b.Dx(), b.Dy())
	}
	// gozxing is a port of Java code that signals some malformed input by
	// index panics; a bad image must be an error, never a crash.
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("%w (decoder failed: %v)", ErrNotFound, r)
		}
	}()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	reader := zxqr.NewQRCodeReader()
	res, err := reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		res, err = reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return res.GetText(), nil
}

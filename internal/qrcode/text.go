package qrcode

import (
	"errors"
	"fmt"

	yqr "github.com/yeqown/go-qrcode/v2"
)

// EncodeText encodes any text (a URL, with lower case letters) as a QR code
// in byte mode at error correction level M. EP1 texts use Encode, whose
// alphanumeric mode makes smaller symbols.
func EncodeText(text string) (*Symbol, error) {
	if text == "" {
		return nil, errors.New("qrcode: empty text")
	}
	q, err := yqr.NewWith(text,
		yqr.WithEncodingMode(yqr.EncModeByte),
		yqr.WithErrorCorrectionLevel(yqr.ErrorCorrectionMedium))
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

// RenderText is Render for any text, in byte mode (see EncodeText).
func RenderText(text string) (pngData []byte, err error) {
	s, err := EncodeText(text)
	if err != nil {
		return nil, err
	}
	return s.PNG(DefaultScale)
}

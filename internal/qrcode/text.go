package qrcode

import yqr "github.com/yeqown/go-qrcode/v2"

// EncodeText encodes any text (a URL, with lower case letters) as a QR code
// in byte mode at error correction level M. EP1 texts use Encode, whose
// alphanumeric mode makes smaller symbols.
func EncodeText(text string) (*Symbol, error) {
	return encode(text, yqr.WithEncodingMode(yqr.EncModeByte))
}

// RenderText is Render for any text, in byte mode (see EncodeText).
func RenderText(text string) (pngData []byte, err error) {
	s, err := EncodeText(text)
	if err != nil {
		return nil, err
	}
	return s.PNG(DefaultScale)
}

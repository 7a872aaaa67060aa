package pki

import (
	"encoding/pem"
	"fmt"
)

// PEM block types.
const (
	PEMCertificate = "CERTIFICATE"
	PEMRequest     = "CERTIFICATE REQUEST"
)

// EncodePEM returns der as one PEM block of type typ.
func EncodePEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// DecodePEM returns the DER of the first PEM block of type typ in data,
// or data itself when it is not PEM but starts like DER (a SEQUENCE), so
// that files may hold either form.
func DecodePEM(data []byte, typ string) ([]byte, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == typ {
			return b.Bytes, nil
		}
	}
	if len(data) > 0 && data[0] == tagSequence {
		return data, nil
	}
	return nil, fmt.Errorf("pki: no PEM block %q", typ)
}

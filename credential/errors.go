package credential

import (
	"errors"
	"strconv"
)

// ErrFormat is the umbrella for every parse failure: all errors from
// ParseQR, ParsePresentation, ParseEPermit and DecodeBase45 satisfy
// errors.Is(err, ErrFormat), so a verifier reports them with the single
// spec §4 code `format` (checks 1–3).
var ErrFormat = errors.New("credential: format")

// The kinds of format failure. A *FormatError matches its kind and ErrFormat
// with errors.Is, so callers and tests can tell why without parsing text.
var (
	// ErrPrefix: the QR text does not start with "EP1:" (spec §4 check 1).
	ErrPrefix = errors.New("credential: missing EP1: prefix")
	// ErrBase45: a stray character, a triplet over 65535, a pair over 255 or
	// a dangling single character (spec §4 check 2).
	ErrBase45 = errors.New("credential: invalid base45")
	// ErrCBOR: not well-formed CBOR, or well-formed but not the structure of
	// spec §2/§3 (wrong type, missing claim, trailing bytes).
	ErrCBOR = errors.New("credential: malformed CBOR")
	// ErrTooLong: the presentation is over 2048 bytes.
	ErrTooLong = errors.New("credential: CBOR over 2048 bytes")
	// ErrIndefiniteLength: an indefinite-length string, array or map.
	ErrIndefiniteLength = errors.New("credential: indefinite-length CBOR item")
	// ErrDuplicateKey: a CBOR map holds the same key twice.
	ErrDuplicateKey = errors.New("credential: duplicate CBOR map key")
	// ErrTooDeep: arrays, maps and tags nested more than 8 deep.
	ErrTooDeep = errors.New("credential: CBOR nested over 8 levels")
)

// FormatError is a presentation or credential that fails spec §4 checks 1–3.
// Check says which (1 prefix, 2 base45, 3 CBOR); all map to code `format`.
type FormatError struct {
	Check int    // spec §4 check number: 1, 2 or 3; 0 for an SD-JWT (spec §6)
	Kind  error  // one of ErrPrefix, ErrBase45, ErrCBOR, ErrTooLong, ErrIndefiniteLength, ErrDuplicateKey, ErrTooDeep, ErrSDJWT
	Msg   string // what exactly was wrong, for logs
}

// Error names the kind, the detail and the spec §4 check.
func (e *FormatError) Error() string {
	s := e.Kind.Error()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Check == 0 { // SD-JWT failures belong to no spec §4 check
		return s
	}
	return s + " (check " + strconv.Itoa(e.Check) + ")"
}

// Is makes a FormatError match both ErrFormat and its Kind.
func (e *FormatError) Is(target error) bool {
	return target == ErrFormat || target == e.Kind
}

// Unwrap returns the kind.
func (e *FormatError) Unwrap() error { return e.Kind }

// Signature check failures, one per spec §4 code, so the verify package maps
// them without string matching.
var (
	// ErrAlgorithm: a signature's alg is not allowed (check 5): not ES256
	// (-7) for a holder proof, or not the alg of the issuer key it is
	// checked with (spec §1.1).
	ErrAlgorithm = errors.New("credential: signature algorithm not allowed for the key")
	// ErrBadSignature: the issuer signature does not verify, check 6.
	ErrBadSignature = errors.New("credential: issuer signature does not verify")
	// ErrBadHolderProof: the holder proof does not verify with the cnf key,
	// check 8.
	ErrBadHolderProof = errors.New("credential: holder proof does not verify")
)

func formatErr(check int, kind error, msg string) error {
	return &FormatError{Check: check, Kind: kind, Msg: msg}
}

func cborErr(kind error, msg string) error { return formatErr(3, kind, msg) }

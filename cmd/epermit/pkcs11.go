//go:build pkcs11

package main

// Built with -tags pkcs11 (and cgo), issuer keys may live in an HSM:
// pkcs11: references open through this backend.
import _ "github.com/epermit/epermit/internal/keys/pkcs11"

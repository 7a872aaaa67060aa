//go:build pkcs11

package main

// pkcs11Built reports whether this test binary has PKCS#11 support.
const pkcs11Built = true

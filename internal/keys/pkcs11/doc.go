// Package pkcs11 keeps issuer keys in a hardware security module through
// PKCS#11, behind the crypto.Signer of package keys. Keys are generated in
// the token, sensitive and not extractable, and never leave it: epermit
// stores only their reference, a PKCS#11 URI (RFC 7512) such as
//
//	pkcs11:token=epermit;object=epermit-issuer;id=%01%02…?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/epermit/pin
//
// The package needs cgo (it loads the module with dlopen), so it is built
// only with the "pkcs11" build tag; linked in, it registers the pkcs11
// scheme with package keys. Without the tag this file is all there is, and
// a pkcs11: reference fails with a message saying how to build.
package pkcs11

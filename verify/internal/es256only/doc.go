// Package es256only holds tests of package verify as a verifier built
// without the SM2 suite (no import of credential/sm2 anywhere in its test
// binary), which package verify's own tests cannot be: they register SM2.
package es256only

package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/epermit/epermit/verify"
)

// A railway gate's whole use of the library: load the authority's trust
// list (shipped as a file, or fetched with NewTrustUpdater), check each
// scanned QR for train travel and show the decision. Status lists are
// left out here (nil), so an accepted e-permit carries the warning
// status_unknown; a connected gate passes a status list cache instead.
func Example() {
	trust, err := verify.LoadTrustList("testdata/trust.json")
	if err != nil {
		log.Fatal(err)
	}
	v := verify.New(trust, nil, verify.Policy{Use: verify.UseTrain})

	scanned, err := os.ReadFile("testdata/example-qr.txt") // what the camera read
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 3, 0, 10, 0, time.UTC) // time.Now() at a real gate
	r := v.Verify(context.Background(), strings.TrimSpace(string(scanned)), now)
	fmt.Println(r.Decision, r.Warnings)
	if r.Accepted() {
		fmt.Println(r.Holder.DocumentNumber, r.Holder.LatinName, r.Holder.Scopes)
	}

	// The same QR shown again, as a screenshot would be.
	r = v.Verify(context.Background(), strings.TrimSpace(string(scanned)), now.Add(5*time.Second))
	fmt.Println(r.Decision, r.Code, r.Message)
	// Output:
	// accept_with_warning [status_unknown]
	// H12345678 CHAN, TAI MAN [flight train]
	// reject replayed This QR code has already been scanned: ask the holder to show the live code.
}

// A gate configured with the authority's root (spec §1.2): it accepts a
// trust list from any channel, here a file, only if the root signed it and
// it is current, and then uses each issuer key only within its certificate.
// A connected gate follows the list with NewSignedTrustUpdater instead, which
// keeps the last good list and refuses rollbacks.
func Example_signedTrustList() {
	root, err := verify.LoadRoot("testdata/example-root.pem") // configured out of band
	if err != nil {
		log.Fatal(err)
	}
	list, err := os.ReadFile("testdata/example-trust-list.jwt") // from a CDN, a USB stick, another gate
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 3, 0, 10, 0, time.UTC) // time.Now() at a real gate
	trust, err := verify.ParseSignedTrustList(bytes.TrimSpace(list), root, nil, "usb", now)
	if err != nil {
		log.Fatal(err) // a *verify.TrustListError: trust_list_signature, trust_list_expired, …
	}
	fmt.Println("trust list", trust.Seq(), "until", trust.Expiry().Format(time.DateOnly))

	scanned, err := os.ReadFile("testdata/example-qr.txt")
	if err != nil {
		log.Fatal(err)
	}
	r := verify.New(trust, nil, verify.Policy{Use: verify.UseTrain}).Verify(context.Background(), strings.TrimSpace(string(scanned)), now)
	fmt.Println(r.Decision, r.Warnings)

	// A day after the list's next-update time, without a fresh list.
	r = verify.New(trust, nil, verify.Policy{Use: verify.UseTrain}).Verify(context.Background(), strings.TrimSpace(string(scanned)), trust.Expiry().Add(24*time.Hour))
	fmt.Println(r.Decision, r.Code)
	// Output:
	// trust list 7 until 2026-12-31
	// accept_with_warning [status_unknown]
	// reject trust_list_expired
}

package verify_test

import (
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

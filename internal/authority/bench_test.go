package authority_test

import (
	"bytes"
	"testing"

	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/store/storetest"
)

// BenchmarkImportRegistry imports a 100,000-record registry file into an
// empty store: one op is the whole file (run with -benchtime=1x or 3x).
func BenchmarkImportRegistry(b *testing.B) {
	file := registryFile(b, demo.Registry(100_000))
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				a := newAuthority(b, storetest.Open(b, engine))
				b.StartTimer()
				rep, err := a.ImportRegistry(ctx, bytes.NewReader(file), "bench")
				if err != nil || rep.Created != 100_000 {
					b.Fatalf("import = %+v, %v", rep, err)
				}
			}
			b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}


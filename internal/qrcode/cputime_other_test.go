//go:build !unix

package qrcode

// processCPU is not measured off Unix; the benchmarks then report 0.
func processCPU() int64 { return 0 }

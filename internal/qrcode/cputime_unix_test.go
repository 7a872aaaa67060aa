//go:build unix

package qrcode

import "syscall"

// processCPU is the CPU time (user + system) this process has used, in
// nanoseconds: the benchmarks report it per operation beside ns/op because
// wall time on a shared machine measures the neighbours too.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// SPDX-License-Identifier: MIT

//go:build !linux

package bench

import "os"

// Without /proc and Linux's rusage, memory is not measured.

type qemuWatch struct{}

func watchQEMU() *qemuWatch                      { return &qemuWatch{} }
func (*qemuWatch) Stop() (hwmKiB, sumKiB uint64) { return 0, 0 }
func (*qemuWatch) peakOf(string) uint64          { return 0 }
func commPeaks() map[string]uint64               { return nil }
func maxRSS() (self, children uint64)            { return 0, 0 }
func childMaxRSS(*os.ProcessState) uint64        { return 0 }

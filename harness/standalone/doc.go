// SPDX-License-Identifier: MIT

// Package standalone checks cnvmtest the way a user outside this
// repository meets it. Its test (CNVMTEST_SELFTEST=1 go test
// ./harness/standalone, or make standalone) copies examples/cnupper, a
// project with its own go.mod, kernel module and guest tests, to a
// temporary directory; installs the CLI with go install from a temporary
// copy of this checkout; and runs the example's documented commands
// against a real kernel in a mount namespace in which the copy and every
// checkout of the repository are hidden under empty read-only directories.
// Anything the CLI still reads from a source tree then fails the test.
package standalone

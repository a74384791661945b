// SPDX-License-Identifier: MIT

//go:build !linux

package main

func asGuestRunner() {}

//go:build !linux

package main

func asGuestRunner() {}

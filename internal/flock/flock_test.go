// SPDX-License-Identifier: MIT

//go:build linux

package flock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestSharedLocksCoexist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	ctx := context.Background()
	u1, err := Lock(ctx, path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u1()
	u2, err := Lock(ctx, path, false, func() { t.Error("a shared lock waited for another shared lock") })
	if err != nil {
		t.Fatal(err)
	}
	u2()
}

func TestExclusiveWaitsAndIsCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	held, err := Lock(context.Background(), path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held()
	// flock conflicts between open file descriptions, so a second Lock in
	// this process waits like another process would.
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		unlock, err := Lock(ctx, path, true, func() { close(waited) })
		if err == nil {
			unlock()
		}
		done <- err
	}()
	select {
	case <-waited:
	case err := <-done:
		t.Fatalf("an exclusive lock did not wait for a shared one: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("waiting was not called")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock went on waiting after its context was cancelled")
	}
}

func TestWaiterGetsTheLockWhenReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	held, err := Lock(context.Background(), path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waited := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		unlock, err := Lock(ctx, path, true, func() { close(waited) })
		if err == nil {
			unlock()
		}
		done <- err
	}()
	<-waited
	held()
	if err := <-done; err != nil {
		t.Fatalf("Lock after the holder released it: %v", err)
	}
}

func TestSharedWaitsForExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	held, err := Lock(context.Background(), path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held()
	for _, exclusive := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		waited := false
		_, err := Lock(ctx, path, exclusive, func() { waited = true })
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !waited {
			t.Errorf("Lock(exclusive=%v) while an exclusive lock is held = %v (waited %v), want a deadline error after waiting", exclusive, err, waited)
		}
	}
}

// SPDX-License-Identifier: MIT

package connector

import (
	"bytes"
	"testing"

	"github.com/mdlayher/netlink"
)

func FuzzMessageUnmarshal(f *testing.F) {
	// The committed corpus in testdata/fuzz holds the edge cases; these add
	// the ordinary ones. No seed is large: the fuzzer then spends up to a
	// minute minimising each input grown from it, and TestMessageRoundTrip
	// covers MaxDataLen anyway.
	for _, m := range []Message{{}, hello} {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatalf("failed to marshal seed: %v", err)
		}
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.UnmarshalBinary(b); err != nil {
			return
		}
		out, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("failed to marshal a decoded message: %v", err)
		}
		// Everything after the declared data is padding and must be dropped.
		if want := b[:HeaderLen+len(m.Data)]; !bytes.Equal(want, out) {
			t.Fatalf("round trip changed the message:\n want %x\n  got %x", want, out)
		}
		if len(m.Data) > 0 && &m.Data[0] == &b[HeaderLen] {
			t.Fatal("Data aliases the input")
		}
	})
}

func FuzzParseDatagram(f *testing.F) {
	req, err := marshalRequest(hello)
	if err != nil {
		f.Fatalf("failed to marshal seed: %v", err)
	}
	f.Add(req)                                                                       // unpadded, as Send writes
	f.Add(appendNetlink(nil, netlink.Header{Type: netlink.Done}, req[nlHeaderLen:])) // padded, as the kernel sends
	f.Add(append(appendNetlink(nil, netlink.Header{}, req[nlHeaderLen:]), req...))   // two messages

	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := parseDatagram(b, 0)
		if err != nil {
			return
		}
		for _, r := range rs {
			if int(r.Header.Length) < nlHeaderLen+HeaderLen+len(r.Data) {
				t.Fatalf("nlmsg_len %d cannot hold %d data bytes", r.Header.Length, len(r.Data))
			}
		}
	})
}

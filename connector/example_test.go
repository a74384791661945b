// SPDX-License-Identifier: MIT

package connector_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"syscall"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// This example sends a message to a module registered as 16:1 and waits
// for its reply, which by this project's convention acknowledges Ack+1.
// It has no Output line because it needs a kernel with such a module:
// go test only compiles it (the guest suite runs the same calls).
func ExampleConn_Request() {
	c, err := connector.Dial(nil)
	if err != nil {
		log.Fatalf("failed to dial: %v", err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	reply, err := c.Request(ctx, connector.Message{
		ID:   connector.ID{Idx: 16, Val: 1},
		Seq:  1,
		Ack:  41,
		Data: []byte("hello"),
	})
	if err != nil {
		// A missing module and a dropped message look the same: no reply.
		log.Fatalf("no reply: %v", err)
	}
	log.Printf("reply from %s: %q", reply.ID, reply.Data)
}

// This example listens on a multicast group, which needs CAP_NET_ADMIN for
// even groups on every kernel (docs/connector.md §3). It has no Output line:
// it needs a kernel module that multicasts, so go test only compiles it.
func ExampleConn_ReceiveFrom() {
	c, err := connector.Dial(&connector.Config{Groups: []uint32{16}})
	if err != nil {
		log.Fatalf("failed to dial: %v", err)
	}
	defer c.Close()

	for {
		rs, err := c.ReceiveFrom(context.Background())
		if errors.Is(err, syscall.ENOBUFS) {
			log.Print("socket overrun: some messages were lost")
			continue
		}
		if err != nil {
			log.Fatalf("failed to receive: %v", err)
		}
		for _, r := range rs {
			log.Printf("%s seq %d from groups %#x", r.ID, r.Seq, r.Groups)
		}
	}
}

// This example tests code against a fake kernel module built with nltest.
func ExampleNewConn() {
	echo := func(req []netlink.Message) ([]netlink.Message, error) {
		var m connector.Message
		if err := m.UnmarshalBinary(req[0].Data); err != nil {
			return nil, err
		}
		m.Ack++
		b, err := m.MarshalBinary()
		if err != nil {
			return nil, err
		}
		return []netlink.Message{{Header: netlink.Header{Type: netlink.Done, Sequence: m.Seq}, Data: b}}, nil
	}

	c := connector.NewConn(nltest.Dial(echo))
	defer c.Close()

	reply, err := c.Request(context.Background(), connector.Message{
		ID:   connector.ID{Idx: 16, Val: 1},
		Seq:  7,
		Ack:  41,
		Data: []byte("hello"),
	})
	if err != nil {
		log.Fatalf("failed to request: %v", err)
	}
	fmt.Printf("%s seq %d ack %d: %s\n", reply.ID, reply.Seq, reply.Ack, reply.Data)
	// Output:
	// 16:1 seq 7 ack 42: hello
}

// This example shows the layout of a cn_msg: a 20-byte header, then data.
func ExampleMessage_MarshalBinary() {
	b, err := connector.Message{ID: connector.ID{Idx: 16, Val: 1}, Data: []byte("hello")}.MarshalBinary()
	if err != nil {
		log.Fatalf("failed to marshal: %v", err)
	}
	fmt.Println(len(b), connector.HeaderLen, string(b[connector.HeaderLen:]))
	// Output:
	// 25 20 hello
}

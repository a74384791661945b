// SPDX-License-Identifier: MIT

package vmtests

import (
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// T25: cn_netlink_send(msg, 0, 0) reaches every socket in group idx, with
// the group's bit as the source address; the sender, not in the group,
// gets nothing.
func TestMulticast(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	fromConfig := dial(t, &connector.Config{Groups: []uint32{ids.group}})
	fromSubscribe := dial(t, nil)
	if err := fromSubscribe.Subscribe(ids.group); err != nil {
		t.Fatalf("subscribing to group %d: %v", ids.group, err)
	}
	sender := dial(t, nil)

	req := connector.Message{ID: ids.multicast, Seq: 0x4d43_0001, Ack: 41, Flags: 0x0101, Data: []byte("to the group")}
	send(t, sender, req)
	if ret := readParam(t, "last_mcast_ret"); ret != 0 {
		t.Errorf("cn_netlink_send returned %d, want 0 (delivered) %s", ret, groupMembers(ids.group))
	}

	wantHeader := netlink.Header{
		Length:   uint32(nlmsgHeaderLen + cnMsgLen + len(req.Data)),
		Type:     netlink.Done,
		Sequence: req.Seq,
	}
	listeners := []struct {
		name string
		c    *connector.Conn
	}{
		{name: "Config.Groups", c: fromConfig},
		{name: "Subscribe", c: fromSubscribe},
	}
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			got := mustReceive(t, l.c, 1)[0]
			if diff := diffMessage(echoOf(req), got.Message); diff != "" {
				t.Errorf("unexpected multicast (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantHeader, got.Header); diff != "" {
				t.Errorf("unexpected netlink header (-want +got):\n%s", diff)
			}
			if want := groupBit(ids.group); got.Groups != want {
				t.Errorf("multicast came from groups %#x, want %#x (group %d)", got.Groups, want, ids.group)
			}
		})
	}

	t.Run("sender", func(t *testing.T) {
		expectSilence(t, sender, ids, "MULTICAST sends no unicast reply and the sender is not in the group")
	})
}

// T26: with no socket in group idx, cn_netlink_send(msg, 0, 0) fails with
// -ESRCH before it allocates anything (docs/connector.md §2.2), and nobody
// receives anything. Each case first shows a listener getting the message
// (return 0), so -ESRCH is this send's result and not a stale value.
func TestMulticastNoListeners(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	tests := []struct {
		name  string
		leave func(*testing.T, *connector.Conn)
		// whether the listener still exists and must hear nothing more
		open bool
	}{
		{
			name: "listener closed",
			leave: func(t *testing.T, c *connector.Conn) {
				if err := c.Close(); err != nil {
					t.Fatalf("closing the listener: %v", err)
				}
			},
		},
		{
			name: "listener unsubscribed",
			leave: func(t *testing.T, c *connector.Conn) {
				if err := c.Unsubscribe(ids.group); err != nil {
					t.Fatalf("unsubscribing from group %d: %v", ids.group, err)
				}
			},
			open: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			listener := dial(t, &connector.Config{Groups: []uint32{ids.group}})
			sender := dial(t, nil)
			req := connector.Message{ID: ids.multicast, Seq: 26, Ack: 1, Data: []byte("anyone listening?")}

			send(t, sender, req)
			if ret := readParam(t, "last_mcast_ret"); ret != 0 {
				t.Fatalf("with a listener, cn_netlink_send returned %d, want 0", ret)
			}
			mustReceive(t, listener, 1)

			tt.leave(t, listener)
			req.Seq++
			send(t, sender, req)
			if ret, want := readParam(t, "last_mcast_ret"), -int64(unix.ESRCH); ret != want {
				t.Errorf("without listeners, cn_netlink_send returned %d, want %d (-ESRCH) %s", ret, want, groupMembers(ids.group))
			}
			expectSilence(t, sender, ids, "MULTICAST sends no unicast reply")
			if tt.open {
				expectSilence(t, listener, ids, "the listener left the group")
			}
		})
	}
}

// T27: cn_netlink_send(msg, portid, group) multicasts to the group but skips
// portid; it is not "unicast and multicast" as connector.c's comment says
// (docs/connector.md §2.3). The MULTICAST case is the control: the same sender in
// the same group does get a plain multicast.
func TestMulticastExcludesSender(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	tests := []struct {
		name       string
		id         connector.ID
		senderGets bool
	}{
		{name: "MULTICAST reaches the sender", id: ids.multicast, senderGets: true},
		{name: "MULTICAST_EXCL skips the sender", id: ids.multicastExcl, senderGets: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := dial(t, &connector.Config{Groups: []uint32{ids.group}})
			sender := dial(t, &connector.Config{Groups: []uint32{ids.group}})
			req := connector.Message{ID: tt.id, Seq: 27, Ack: 100, Flags: 0x2727, Data: []byte("to everyone else")}
			want := echoOf(req)

			send(t, sender, req)
			if ret := readParam(t, "last_mcast_ret"); ret != 0 {
				t.Errorf("cn_netlink_send returned %d, want 0 (delivered to the other member)", ret)
			}

			got := mustReceive(t, other, 1)[0]
			if diff := diffMessage(want, got.Message); diff != "" {
				t.Errorf("unexpected multicast at the other member (-want +got):\n%s", diff)
			}
			if bit := groupBit(ids.group); got.Groups != bit {
				t.Errorf("multicast came from groups %#x, want %#x", got.Groups, bit)
			}

			if !tt.senderGets {
				expectSilence(t, sender, ids, "the module excluded the sender's port")
				return
			}
			got = mustReceive(t, sender, 1)[0]
			if diff := diffMessage(want, got.Message); diff != "" {
				t.Errorf("unexpected multicast at the sender (-want +got):\n%s", diff)
			}
		})
	}
}

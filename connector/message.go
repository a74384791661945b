// SPDX-License-Identifier: MIT

package connector

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/mdlayher/netlink"
)

const (
	// Protocol is NETLINK_CONNECTOR, the netlink family of the connector.
	Protocol = 11

	// HeaderLen is sizeof(struct cn_msg): the bytes before Message.Data.
	HeaderLen = 20

	// MaxMessageSize is CONNECTOR_MAX_MSG_SIZE. The kernel drops a message
	// whose nlmsg payload, cn_msg header included, is longer (docs/connector.md
	// §1.4). It limits only messages sent to the kernel.
	MaxMessageSize = 16384

	// MaxDataLen is the longest Message.Data the kernel accepts: 16364.
	MaxDataLen = MaxMessageSize - HeaderLen
)

// Offsets of the struct cn_msg fields, from docs/connector.md §1.1 (which counts
// from the start of the nlmsghdr, 16 bytes earlier).
const (
	offIdx   = 0
	offVal   = 4
	offSeq   = 8
	offAck   = 12
	offLen   = 16
	offFlags = 18
)

// nlHeaderLen is sizeof(struct nlmsghdr).
const nlHeaderLen = 16

// byteOrder is what the codecs of this package need of a byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// hostOrder is the byte order of every field this package encodes and
// decodes: nlmsghdr, cn_msg and the cn_proc structures are all in the
// host's order (include/uapi/linux/connector.h and cn_proc.h declare
// plain __u32 and __u64 fields; the kernel neither swaps nor checks
// them). Only the byte-order tests change it, to prove every field
// follows it on either kind of host.
var hostOrder byteOrder = binary.NativeEndian

var (
	errDataTooLong = errors.New("data longer than 65535 bytes does not fit cn_msg.len")
	errShortHeader = errors.New("shorter than the 20-byte cn_msg header")
)

// An ID is a struct cb_id. It selects the kernel callback a message is for;
// the kernel also uses Idx as the multicast group of that callback
// (docs/connector.md §2.3).
type ID struct {
	Idx, Val uint32
}

// String formats id as /proc/net/connector does: "idx:val" in decimal.
func (id ID) String() string { return fmt.Sprintf("%d:%d", id.Idx, id.Val) }

// A Message is a struct cn_msg and its data. Its len field is not stored:
// MarshalBinary writes len(Data).
//
// The kernel copies Seq, Ack and Flags verbatim into what it sends and gives
// them no meaning; what they mean is up to the module (docs/connector.md §1.2).
type Message struct {
	ID    ID
	Seq   uint32
	Ack   uint32
	Flags uint16
	Data  []byte
}

// MarshalBinary encodes m as the 20-byte cn_msg header followed by Data, in
// host byte order. It fails only if Data is longer than 65535 bytes; it does
// not enforce MaxDataLen.
func (m Message) MarshalBinary() ([]byte, error) {
	if len(m.Data) > math.MaxUint16 {
		return nil, errDataTooLong
	}
	b := make([]byte, HeaderLen+len(m.Data))
	m.put(b)
	return b, nil
}

// put writes m into b, which must be exactly HeaderLen+len(m.Data) bytes.
func (m Message) put(b []byte) {
	hostOrder.PutUint32(b[offIdx:], m.ID.Idx)
	hostOrder.PutUint32(b[offVal:], m.ID.Val)
	hostOrder.PutUint32(b[offSeq:], m.Seq)
	hostOrder.PutUint32(b[offAck:], m.Ack)
	hostOrder.PutUint16(b[offLen:], uint16(len(m.Data)))
	hostOrder.PutUint16(b[offFlags:], m.Flags)
	copy(b[HeaderLen:], m.Data)
}

// UnmarshalBinary decodes a cn_msg header and its len bytes of data. Like the
// kernel (docs/connector.md §1.3) it rejects a len that overruns b and ignores
// bytes after the data, such as netlink padding. Data is a copy, nil when
// len is 0.
func (m *Message) UnmarshalBinary(b []byte) error {
	if err := m.decode(b); err != nil {
		return err
	}
	m.Data = cloneData(m.Data)
	return nil
}

// decode is UnmarshalBinary without the copy: Data aliases b.
func (m *Message) decode(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("%d-byte message: %w", len(b), errShortHeader)
	}
	n := int(hostOrder.Uint16(b[offLen:]))
	if n > len(b)-HeaderLen {
		return fmt.Errorf("cn_msg.len %d overruns the %d bytes after the header", n, len(b)-HeaderLen)
	}

	*m = Message{
		ID: ID{
			Idx: hostOrder.Uint32(b[offIdx:]),
			Val: hostOrder.Uint32(b[offVal:]),
		},
		Seq:   hostOrder.Uint32(b[offSeq:]),
		Ack:   hostOrder.Uint32(b[offAck:]),
		Flags: hostOrder.Uint16(b[offFlags:]),
	}
	if n > 0 {
		m.Data = b[HeaderLen : HeaderLen+n : HeaderLen+n]
	}
	return nil
}

// cloneData copies b for a caller to own; it returns nil for no data, as
// UnmarshalBinary promises.
func cloneData(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// marshalRequest frames m the way Send writes it, as docs/connector.md §9 asks:
// nlmsg_len exact and unpadded, type NLMSG_DONE, nlmsg_seq = m.Seq so that
// request and reply agree, nlmsg_pid 0 because the kernel ignores it.
func marshalRequest(m Message) ([]byte, error) {
	if len(m.Data) > math.MaxUint16 {
		return nil, errDataTooLong
	}
	return appendRequest(nil, m), nil
}

// appendRequest appends m framed as marshalRequest frames it to dst, whose
// spare capacity it reuses. The caller checks that Data fits cn_msg.len.
func appendRequest(dst []byte, m Message) []byte {
	n := nlHeaderLen + HeaderLen + len(m.Data)
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	b := dst[start:]
	putNetlinkHeader(b, netlink.Header{
		Length:   uint32(n),
		Type:     netlink.Done,
		Sequence: m.Seq,
	})
	m.put(b[nlHeaderLen:])
	return dst
}

func putNetlinkHeader(b []byte, h netlink.Header) {
	hostOrder.PutUint32(b[0:], h.Length)
	hostOrder.PutUint16(b[4:], uint16(h.Type))
	hostOrder.PutUint16(b[6:], uint16(h.Flags))
	hostOrder.PutUint32(b[8:], h.Sequence)
	hostOrder.PutUint32(b[12:], h.PID)
}

func netlinkHeader(b []byte) netlink.Header {
	return netlink.Header{
		Length:   hostOrder.Uint32(b[0:]),
		Type:     netlink.HeaderType(hostOrder.Uint16(b[4:])),
		Flags:    netlink.HeaderFlags(hostOrder.Uint16(b[6:])),
		Sequence: hostOrder.Uint32(b[8:]),
		PID:      hostOrder.Uint32(b[12:]),
	}
}

// appendNetlink appends one netlink message carrying data, padded to 4 bytes
// as the kernel pads. nlmsg_len is computed, so h.Length is ignored.
func appendNetlink(b []byte, h netlink.Header, data []byte) []byte {
	h.Length = uint32(nlHeaderLen + len(data))
	start := len(b)
	b = append(b, make([]byte, nlmsgAlign(int(h.Length)))...)
	putNetlinkHeader(b[start:], h)
	copy(b[start+nlHeaderLen:], data)
	return b
}

// parseDatagram decodes every netlink message in one datagram, each with a
// copy of its data.
func parseDatagram(b []byte, groups uint32) ([]Received, error) {
	var rs []Received
	err := walkDatagram(b, func(h netlink.Header, m Message) {
		m.Data = cloneData(m.Data)
		rs = append(rs, Received{Message: m, Groups: groups, Header: h})
	})
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// walkDatagram calls fn for each netlink message in one datagram, in order,
// with m.Data aliasing b. Connector messages have an nlmsg_len that is not
// rounded up (docs/connector.md §1.2), so the next message starts at the aligned
// offset and the last one may lack its padding. A malformed message ends
// the walk with an error, after fn has seen the messages before it.
func walkDatagram(b []byte, fn func(h netlink.Header, m Message)) error {
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < nlHeaderLen {
			return fmt.Errorf("%d bytes at offset %d: shorter than a netlink header", len(rest), off)
		}
		h := netlinkHeader(rest)
		if h.Length < nlHeaderLen || uint64(h.Length) > uint64(len(rest)) {
			return fmt.Errorf("netlink message at offset %d: nlmsg_len %d outside [%d, %d]",
				off, h.Length, nlHeaderLen, len(rest))
		}

		var m Message
		if err := m.decode(rest[nlHeaderLen:h.Length]); err != nil {
			return fmt.Errorf("netlink message at offset %d: %w", off, err)
		}
		fn(h, m)
		off += min(nlmsgAlign(int(h.Length)), len(rest))
	}
	return nil
}

// nlmsgAlign is NLMSG_ALIGN.
func nlmsgAlign(n int) int { return (n + 3) &^ 3 }

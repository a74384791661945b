// SPDX-License-Identifier: GPL-2.0
/*
 * cnclient: a connector client in C for the cnvmtest suite, independent
 * of the Go client. It sends the T1 echo request of docs/connector.md 7.2 to
 * idx:val, waits up to 10 s for the reply, and prints the reply's fields
 * one "name=value" per line for TestCClientAgrees.
 *
 *	gcc -static -O2 -o out/cnclient vmtests/testdata/cnclient.c
 *	cnclient IDX VAL
 *
 * Exit status 0 with the fields printed, 1 on any failure (with a message
 * on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#define REQ_SEQ		1234
#define REQ_ACK		5678
#define REQ_FLAGS	0xABCD
#define REQ_NLSEQ	0xA5A5	/* the kernel must not echo this */
#define REQ_DATA	"hello"

static int fail(const char *what)
{
	fprintf(stderr, "cnclient: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct sockaddr_nl from;
	socklen_t fromlen = sizeof(from);
	struct timeval tv = { .tv_sec = 10 };
	/* Aligned for the headers; room for any echo (docs/connector.md 1.5). */
	static union {
		struct nlmsghdr nlh;
		unsigned char b[65536];
	} req, rep;
	struct cn_msg *msg;
	size_t len = sizeof(REQ_DATA) - 1;
	ssize_t sent, got;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: cnclient IDX VAL\n");
		return 2;
	}

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (fd < 0)
		return fail("socket");
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0)
		return fail("bind");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return fail("setsockopt SO_RCVTIMEO");

	/* nlmsg_len exact, not NLMSG_ALIGNed (docs/connector.md 1.1). */
	req.nlh.nlmsg_len = NLMSG_HDRLEN + sizeof(*msg) + len;
	req.nlh.nlmsg_type = NLMSG_DONE;
	req.nlh.nlmsg_flags = 0;
	req.nlh.nlmsg_seq = REQ_NLSEQ;
	req.nlh.nlmsg_pid = 0;
	msg = NLMSG_DATA(&req.nlh);
	msg->id.idx = strtoul(argv[1], NULL, 0);
	msg->id.val = strtoul(argv[2], NULL, 0);
	msg->seq = REQ_SEQ;
	msg->ack = REQ_ACK;
	msg->len = len;
	msg->flags = REQ_FLAGS;
	memcpy(msg->data, REQ_DATA, len);

	sent = sendto(fd, req.b, req.nlh.nlmsg_len, 0,
		      (struct sockaddr *)&kernel, sizeof(kernel));
	if (sent < 0)
		return fail("sendto");

	got = recvfrom(fd, rep.b, sizeof(rep.b), 0,
		       (struct sockaddr *)&from, &fromlen);
	if (got < 0)
		return fail("recvfrom");
	if ((size_t)got < NLMSG_HDRLEN + sizeof(*msg)) {
		fprintf(stderr, "cnclient: %zd-byte reply\n", got);
		return 1;
	}
	msg = NLMSG_DATA(&rep.nlh);
	if (NLMSG_HDRLEN + sizeof(*msg) + msg->len > (size_t)got) {
		fprintf(stderr, "cnclient: cn_msg.len %u overruns %zd bytes\n",
			msg->len, got);
		return 1;
	}

	printf("sent=%zd\n", sent);
	printf("recv=%zd\n", got);
	printf("from_pid=%u\n", from.nl_pid);
	printf("from_groups=%u\n", from.nl_groups);
	printf("nlmsg_len=%u\n", rep.nlh.nlmsg_len);
	printf("nlmsg_type=%u\n", rep.nlh.nlmsg_type);
	printf("nlmsg_flags=%u\n", rep.nlh.nlmsg_flags);
	printf("nlmsg_seq=%u\n", rep.nlh.nlmsg_seq);
	printf("nlmsg_pid=%u\n", rep.nlh.nlmsg_pid);
	printf("idx=%u\n", msg->id.idx);
	printf("val=%u\n", msg->id.val);
	printf("seq=%u\n", msg->seq);
	printf("ack=%u\n", msg->ack);
	printf("len=%u\n", msg->len);
	printf("flags=%u\n", msg->flags);
	printf("data=%.*s\n", (int)msg->len, (const char *)msg->data);
	return 0;
}
